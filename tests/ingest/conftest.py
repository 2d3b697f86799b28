"""Fixtures for ingest tests: a registered dataset and files written in any encoding."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from accord import Trust

from .helpers import BASE_CONTRACT


@pytest.fixture
def dataset(trust: Trust) -> Callable[..., str]:
    """Register the camden member and a dataset from a contract dict; returns its ref."""
    trust.catalogue.add_member("camden", "London Borough of Camden")

    def make(contract: dict[str, Any] | None = None) -> str:
        return trust.catalogue.register_dataset(contract or BASE_CONTRACT).ref

    return make


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text to a file in the given encoding; returns its path."""

    def make(text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(text.encode(encoding))
        return path

    return make
