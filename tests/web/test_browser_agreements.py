"""In a real browser: two IG leads sign an agreement until it is active."""

from __future__ import annotations

import pytest

from accord import Trust
from tests.agreements.conftest import ig, template
from tests.web.conftest import screenshot, sign_in

pytestmark = pytest.mark.browser


def test_two_ig_leads_sign_until_the_agreement_is_active(page, live_pop: tuple[str, Trust]) -> None:
    url, trust = live_pop
    fsm = template("fsm")
    trust.agreements.propose(fsm)
    for n, member in enumerate(fsm.controllers):
        sign_in(page, url, trust.catalogue.rotate_token(ig(member)))
        page.goto(f"{url}/agreements")
        page.click(f"text={fsm.title}")
        assert "Waiting for signatures" in page.locator("#agreement-state").inner_text()
        if n == 0:
            screenshot(page, "agreement-unsigned")
        page.click("#sign")
        assert f"Signed for {member}" in page.locator(".govuk-notification-banner").inner_text()
        page.click("text=Sign out")
    sign_in(page, url, trust.catalogue.rotate_token("analyst@islington.test"))
    page.goto(f"{url}/agreements/{fsm.id}")
    assert "Active" in page.locator("#agreement-state").inner_text()
    assert page.locator("#sign").count() == 0  # an analyst is offered no sign button
    assert "Lawful basis" in page.locator("#plain-english").inner_text()
    screenshot(page, "agreement-active")
    page.goto(f"{url}/agreements")
    screenshot(page, "agreements")


def test_an_ig_lead_of_a_non_controller_gets_no_sign_button(
    page, live_pop: tuple[str, Trust]
) -> None:
    url, trust = live_pop
    fsm = template("fsm")
    trust.agreements.propose(fsm)
    sign_in(page, url, trust.catalogue.rotate_token(ig("hackney")))
    page.goto(f"{url}/agreements/{fsm.id}")
    assert page.locator("#sign").count() == 0
