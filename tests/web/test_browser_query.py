"""In a real browser: run the FSM query, read the disclosure notes, download the release."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from accord import Trust
from tests.api.fsm_world import FSM_SQL, build_fsm_world
from tests.web.conftest import screenshot, serve, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def live_fsm(sqlite_trust: Trust) -> Iterator[tuple[str, Trust, str]]:
    agreement = build_fsm_world(sqlite_trust)
    with serve(sqlite_trust) as url:
        yield url, sqlite_trust, agreement


def test_an_analyst_runs_the_fsm_query_and_downloads_the_release(
    page, live_fsm: tuple[str, Trust, str], tmp_path: Path
) -> None:
    url, trust, agreement = live_fsm
    sign_in(page, url, trust.catalogue.rotate_token("analyst@islington.test"))
    page.goto(url + "/query")
    page.select_option("#agreement", agreement)
    page.fill("#purpose", "fsm-support")
    page.fill("#sql", FSM_SQL)
    page.click("#ask")
    answer = page.locator("#answer").inner_text()
    assert "Brecknock Primary" in answer and "25" in answer
    assert "suppressed" in page.locator("#disclosure-notes").inner_text()
    screenshot(page, "query-answer")
    with page.expect_download() as download_info:
        page.click("text=Download the answer as CSV")
    saved = tmp_path / "release.csv"
    download_info.value.save_as(saved)
    assert "Brecknock Primary" in saved.read_text()
    assert len(trust.queries.releases(agreement)) == 1  # shown and downloaded: one release


def test_a_refused_query_says_why(page, live_fsm: tuple[str, Trust, str]) -> None:
    url, trust, agreement = live_fsm
    sign_in(page, url, trust.catalogue.rotate_token("analyst@islington.test"))
    page.goto(url + "/query")
    page.select_option("#agreement", agreement)
    page.fill("#purpose", "fsm-support")
    page.fill("#sql", "SELECT sex FROM camden.school_census")
    page.click("#ask")
    assert "Query refused" in page.locator(".govuk-error-summary").inner_text()
    screenshot(page, "query-refused")


def test_the_audit_page_shows_the_release_and_an_intact_log(
    page, live_fsm: tuple[str, Trust, str]
) -> None:
    url, trust, agreement = live_fsm
    trust.queries.ask("analyst@islington.test", agreement, "fsm-support", FSM_SQL)
    sign_in(page, url, trust.catalogue.rotate_token("ig@camden.test"))
    page.goto(url + "/audit")
    assert "Intact" in page.locator("#verification").inner_text()
    assert "query.release-made" in page.locator("#entries").inner_text()
    chart_title = page.locator("svg.app-chart title").first.text_content() or ""
    assert chart_title.startswith("Releases per agreement")
    screenshot(page, "audit")
