"""Fixtures of the interface tests: the small linked world of the API tests, built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord import Trust
from tests.api.test_linkage_api import (  # noqa: F401 (a fixture)
    LinkedTemplate,
    linked_template,
    open_copy,
)


@pytest.fixture
def linked(linked_template: LinkedTemplate, tmp_path: Path) -> Iterator[Trust]:  # noqa: F811
    """A fresh copy of the linked world (FSM agreement active, one run), opened."""
    trust = open_copy(linked_template, tmp_path)
    yield trust
    trust.close()
