"""The lookup is not an oracle: identical answers for unknown and unused people, every lookup
logged without identifiers or outcome, and a rate limit per client and per identifier."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from accord import Trust
from accord.audit.citizen import CitizenView, Identifiers, TooManyLookups
from accord.audit.citizen_events import CitizenLookup, CitizenLookupRefused
from accord.core.store.models import EventRow
from tests.citizen.conftest import DOB, UNKNOWN, pupil
from tests.query.conftest import _nhs

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def _events(trust: Trust, kind: str) -> list[dict]:
    with trust.store.sessions() as session:
        rows = session.query(EventRow).filter(EventRow.kind == kind).order_by(EventRow.seq).all()
        return [json.loads(r.payload) for r in rows]


def test_a_pupil_in_the_release_sees_it(census: Trust) -> None:
    report = census.citizen.report(pupil(1), client="test")
    assert [u.organisation_id for u in report.uses] == ["islington"]
    assert report.uses[0].fields == ["camden/school_census.given_name", "camden/school_census.upn"]


def test_unknown_and_unused_people_get_the_same_account_of_uses(census: Trust) -> None:
    unknown = census.citizen.report(UNKNOWN, client="a")
    unused = census.citizen.report(pupil(0), client="b")  # Camden resident: not released
    assert unknown.uses == unused.uses == []
    assert unknown.uses_summary == unused.uses_summary
    assert unknown.opted_out == unused.opted_out is False
    assert set(unknown.model_dump()) == set(unused.model_dump())
    # Only the holdings differ: they are shown to the verified person themself (see docs).
    assert [h.dataset for h in unused.holdings] == ["camden/school_census"]


def test_every_lookup_is_logged_without_identifiers_or_outcome(census: Trust) -> None:
    census.citizen.report(UNKNOWN, client="203.0.113.9")
    census.citizen.report(pupil(1), client="203.0.113.9")
    logged = _events(census, CitizenLookup.kind)
    assert len(logged) == 2
    text = json.dumps(logged)
    for secret in (UNKNOWN.nhs_number, _nhs(1), DOB, "203.0.113.9"):
        assert secret not in text
    # the same keys for both: nothing says one person was found and the other not
    assert set(logged[0]) == set(logged[1]) == {"subjects", "client", "channel"}
    assert logged[0]["client"] == logged[1]["client"]
    assert logged[0]["subjects"] != logged[1]["subjects"]
    assert census.audit.verify().ok  # and they are part of the hash chain like any entry


def test_a_sixth_lookup_of_one_person_in_a_minute_is_refused_and_logged(census: Trust) -> None:
    for n in range(5):
        census.citizen.report(pupil(1), client=f"client-{n}")
    with pytest.raises(TooManyLookups) as refused:
        census.citizen.report(pupil(1), client="client-6")
    assert refused.value.status == 429
    assert len(_events(census, CitizenLookup.kind)) == 5
    assert len(_events(census, CitizenLookupRefused.kind)) == 1
    census.citizen.report(pupil(2), client="client-7")  # another person is not held up


def test_a_sixth_lookup_from_one_client_in_a_minute_is_refused(census: Trust) -> None:
    for n in range(5):
        census.citizen.report(pupil(n), client="one-place")
    with pytest.raises(TooManyLookups):
        census.citizen.report(UNKNOWN, client="one-place")


def test_the_limit_applies_to_the_last_minute_only(census: Trust) -> None:
    view = CitizenView(census)
    view.window = timedelta(seconds=0)  # every earlier lookup is outside the window
    for _ in range(7):
        view.report(pupil(1), client="patient")


def test_identifiers_must_make_a_complete_set() -> None:
    from accord.errors import InvalidInput

    with pytest.raises(InvalidInput, match="NHS number and date of birth"):
        Identifiers.parse(given_name="Ann", date_of_birth=DOB)
    with pytest.raises(InvalidInput, match="check digit"):
        Identifiers.parse(nhs_number="1234567890", date_of_birth=DOB)
