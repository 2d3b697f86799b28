"""Fixtures of the citizen view: a linked synthetic world (SQLite, one per session) and a small
census world on both metadata backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accord import Trust
from accord.audit.citizen import Identifiers
from tests.citizen.world import World, build_world
from tests.query.conftest import ANA, _nhs, make_grant
from tests.query.conftest import build_world as build_census

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's Chromium)")


# Pupils 0..299 of the census have NHS numbers _nhs(i); the census holds no date of birth.
DOB = "2014-05-01"
LIST_SQL = "SELECT upn, given_name FROM camden.school_census"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("citizen"))
    # These tests look people up many times; the limit itself is tested on its own.
    built.trust.citizen.lookups_per_window = 10_000
    yield built
    built.trust.close()


def pupil(i: int) -> Identifiers:
    return Identifiers(nhs_number=_nhs(i), date_of_birth=DOB)


UNKNOWN = Identifiers(nhs_number="9434765919", date_of_birth=DOB)


@pytest.fixture
def scensus(sqlite_trust: Trust) -> Trust:
    return census_world(sqlite_trust)


@pytest.fixture
def census(trust: Trust) -> Trust:
    return census_world(trust)


def census_world(trust: Trust) -> Trust:
    """Camden's census; Islington received its resident pupils (i % 3 == 1) in one release."""
    build_census(trust)
    trust.queries.run(ANA, make_grant(), LIST_SQL)
    return trust
