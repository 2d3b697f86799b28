"""In a real browser: a reviewer works through the linkage review queue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord import Trust
from tests.api.test_linkage_api import (  # noqa: F401 (a fixture)
    AGREEMENT,
    LinkedTemplate,
    linked_template,
    open_copy,
)
from tests.web.conftest import screenshot, serve, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result"),
]


@pytest.fixture
def live_linked(
    linked_template: LinkedTemplate,  # noqa: F811
    tmp_path: Path,
) -> Iterator[tuple[str, LinkedTemplate]]:
    trust: Trust = open_copy(linked_template, tmp_path)
    try:
        with serve(trust) as url:
            yield url, linked_template
    finally:
        trust.close()


def test_a_reviewer_accepts_a_pair_and_the_queue_shrinks(
    page, live_linked: tuple[str, LinkedTemplate]
) -> None:
    url, world = live_linked
    sign_in(page, url, world.people.camden_owner)
    page.goto(f"{url}/agreements/{AGREEMENT}")
    page.click("#linkage-link")
    chart = page.locator("#weights-chart svg")
    assert "link threshold" in chart.text_content()
    assert "pairs at or above the link threshold" in chart.locator("desc").text_content()
    rows = page.locator("#review-queue tbody tr")
    before = int(page.locator("#review-counts").inner_text().split()[0])
    first = rows.first.locator("td").nth(0).inner_text()
    pair = (first, rows.first.locator("td").nth(1).inner_text())
    screenshot(page, "linkage")

    rows.first.locator("a").click()
    assert page.locator("h1").inner_text() == "Are these records the same person?"
    assert first in page.locator("#pair thead").inner_text()
    assert "Date of birth" in page.locator("#pair tbody").inner_text()
    # The two records as their datasets hold them: only the fields the agreement shares.
    records = page.locator("#records")
    assert first in records.locator("thead").inner_text()
    shown_fields = records.locator("tbody th").all_inner_texts()
    assert {"Given name", "Date of birth", "Postcode"} <= set(shown_fields)
    assert "Sex" not in shown_fields
    assert page.locator("#waterfall svg").count() == 1
    screenshot(page, "linkage-pair")

    page.check("#decision")  # accept: the same person
    page.click("#decide")
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert "the same person" in banner and f"{before - 1} pairs left" in banner
    assert page.locator("#review-counts").inner_text().startswith(f"{before - 1} open, 1 decided")
    shown = [(r.locator("td").nth(0).inner_text(), r.locator("td").nth(1).inner_text())
             for r in page.locator("#review-queue tbody tr").all()]  # fmt: skip
    assert shown and pair not in shown
    screenshot(page, "linkage-after-review")


def test_an_analyst_sees_the_chart_but_not_the_records(
    page, live_linked: tuple[str, LinkedTemplate]
) -> None:
    url, world = live_linked
    sign_in(page, url, world.people.islington_analyst)
    page.goto(f"{url}/agreements/{AGREEMENT}/linkage")
    assert page.locator("#weights-chart svg").count() == 1
    assert page.locator("#review-queue").count() == 0
    assert "data owners" in page.locator(".govuk-inset-text").inner_text()


def test_the_linkage_list_shows_only_agreements_ones_member_is_party_to(
    page, live_linked: tuple[str, LinkedTemplate]
) -> None:
    url, world = live_linked
    sign_in(page, url, world.people.islington_owner)
    page.goto(f"{url}/linkage")
    assert AGREEMENT in page.locator("#linkage-agreements").inner_text()
    screenshot(page, "linkage-list")
    page.click("text=Sign out")
    sign_in(page, url, world.people.hackney_owner)
    page.goto(f"{url}/linkage")
    assert page.locator("#no-linkage").count() == 1
    response = page.goto(f"{url}/agreements/{AGREEMENT}/linkage")
    assert response.status == 403
    assert "hackney" in page.locator("main").inner_text()


def test_the_queue_pages_show_every_open_pair_once_in_order(
    page, live_linked: tuple[str, LinkedTemplate]
) -> None:
    url, world = live_linked
    sign_in(page, url, world.people.camden_owner)
    base = f"{url}/agreements/{AGREEMENT}/linkage"
    page.goto(base)
    total = int(page.locator("#review-counts").inner_text().split()[0])
    seen: list[str] = []
    number = 1
    while len(seen) < total and number <= total:
        page.goto(f"{base}?page={number}")
        seen += [
            r.locator("td").nth(0).inner_text() + " " + r.locator("td").nth(1).inner_text()
            for r in page.locator("#review-queue tbody tr").all()
        ]
        number += 1
    assert len(seen) == total == len(set(seen))
    # A page past the end (pairs decided meanwhile) shows the last page, not an empty one.
    page.goto(f"{base}?page={number + 5}")
    last = page.locator("#review-queue tbody tr").all()
    assert last and last[-1].locator("td").nth(0).inner_text() in seen[-1]
