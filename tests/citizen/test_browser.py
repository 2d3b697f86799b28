"""In a real browser: a citizen signs in with a one-time code and sees the release that used
their record; then opts out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from accord import Trust
from accord.audit.citizen import Identifiers
from tests.citizen.conftest import DOB, census_world
from tests.query.conftest import _nhs
from tests.web.conftest import screenshot, serve

pytestmark = [
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result"),
    pytest.mark.browser,
]


@pytest.fixture
def live_census(sqlite_trust: Trust) -> Iterator[tuple[str, Trust]]:
    census_world(sqlite_trust)
    with serve(sqlite_trust) as url:
        yield url, sqlite_trust


def _sign_in(page, url: str, code: str, nhs_number: str) -> None:
    page.goto(url + "/citizen")
    page.fill("#nhs_number", nhs_number)
    year, month, day = DOB.split("-")
    page.fill("#dob-day", day)
    page.fill("#dob-month", month)
    page.fill("#dob-year", year)
    page.fill("#code", code)
    page.click("#citizen-sign-in")


def test_a_citizen_signs_in_and_sees_who_used_their_record(
    page,
    live_census: tuple[str, Trust],
) -> None:
    url, trust = live_census
    nhs_number = _nhs(1)
    code = trust.citizen.issue_code(Identifiers(nhs_number=nhs_number, date_of_birth=DOB))
    _sign_in(page, url, code, f"{nhs_number[:3]} {nhs_number[3:6]} {nhs_number[6:]}")
    uses = page.locator("#uses").inner_text()
    assert "London Borough of Islington" in uses
    assert "Find children entitled to free school meals" in uses
    assert "given name" in uses and "upn" in uses
    assert "1 answer made from records about you" in page.locator("#uses-summary").inner_text()
    screenshot(page, "citizen-report")
    page.click("#opt-out")
    assert "opt-out is recorded" in page.locator(".govuk-notification-banner").inner_text()
    assert trust.queries.optouts.is_opted_out(nhs_number=nhs_number)


def test_a_wrong_code_keeps_the_citizen_out(page, live_census: tuple[str, Trust]) -> None:
    url, trust = live_census
    trust.citizen.issue_code(Identifiers(nhs_number=_nhs(1), date_of_birth=DOB))
    _sign_in(page, url, "000000x", _nhs(1))
    assert "That code does not work" in page.locator(".govuk-error-summary").inner_text()
    assert page.locator("#uses").count() == 0
