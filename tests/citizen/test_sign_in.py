"""Signing in with a one-time code (the stand-in for NHS login) gives a token for one person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accord import Trust
from accord.audit.citizen import TooManyLookups
from accord.core.store.models import EventRow
from accord.errors import InvalidInput, NotAuthenticated
from tests.citizen.conftest import UNKNOWN, pupil

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def _events(trust: Trust, kind: str) -> list[str]:
    with trust.store.sessions() as session:
        return list(session.scalars(select(EventRow.payload).where(EventRow.kind == kind)))


def test_a_code_signs_in_once_and_the_token_names_the_person(census: Trust) -> None:
    code = census.citizen.issue_code(pupil(1))
    token = census.citizen.sign_in(pupil(1), code, client="web:1")
    assert census.citizen.identifiers(token) == pupil(1)
    with pytest.raises(NotAuthenticated, match="used already"):
        census.citizen.sign_in(pupil(1), code, client="web:1")


def test_a_code_works_only_for_the_details_it_was_issued_for(census: Trust) -> None:
    code = census.citizen.issue_code(pupil(1))
    with pytest.raises(NotAuthenticated):
        census.citizen.sign_in(pupil(2), code, client="web:1")


def test_a_code_is_issued_for_someone_the_trust_does_not_know(census: Trust) -> None:
    code = census.citizen.issue_code(UNKNOWN)
    assert census.citizen.identifiers(census.citizen.sign_in(UNKNOWN, code, client="web:2"))


def test_guessing_codes_is_stopped_after_five_failures(census: Trust) -> None:
    census.citizen.issue_code(pupil(1))
    for guess in range(5):
        with pytest.raises(NotAuthenticated):
            census.citizen.sign_in(pupil(1), f"{guess:06d}x", client="web:3")
    with pytest.raises(TooManyLookups):
        census.citizen.sign_in(pupil(1), "000000", client="web:4")


@pytest.mark.parametrize("minutes", [0, 0.5, 61, -15])
def test_a_code_lasts_between_one_and_sixty_minutes(census: Trust, minutes: float) -> None:
    with pytest.raises(InvalidInput, match="between 1 and 60 minutes"):
        census.citizen.issue_code(pupil(1), lifetime=timedelta(minutes=minutes))
    assert not _events(census, "citizen.code-issued")


@pytest.mark.parametrize("minutes", [1, 60])
def test_a_code_may_last_one_or_sixty_minutes(census: Trust, minutes: int) -> None:
    code = census.citizen.issue_code(pupil(1), lifetime=timedelta(minutes=minutes))
    assert census.citizen.identifiers(census.citizen.sign_in(pupil(1), code, client="web:5"))


def test_a_forged_token_is_refused(census: Trust) -> None:
    with pytest.raises(NotAuthenticated):
        census.citizen.identifiers("cit_not-a-token")
