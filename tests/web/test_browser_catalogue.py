"""In a real browser: sign in, upload a file with bad rows, see them in quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import PUPILS_CSV
from tests.web.conftest import LiveTrust, screenshot, sign_in

pytestmark = pytest.mark.browser


def test_signing_in_with_a_token_opens_the_catalogue(page, live: LiveTrust) -> None:
    page.goto(live.url + "/")
    assert page.url.startswith(live.url + "/sign-in")
    screenshot(page, "sign-in")
    sign_in(page, live, live.people.camden_owner)
    assert page.locator("h1").inner_text() == "Catalogue"
    assert "Camden pupils" in page.locator("#datasets").inner_text()
    screenshot(page, "catalogue-empty")


def test_a_wrong_token_shows_the_error_summary(page, live: LiveTrust) -> None:
    sign_in(page, live, "acc_wrong")
    summary = page.locator(".govuk-error-summary")
    assert "not valid" in summary.inner_text()
    assert page.title().startswith("Error:")
    screenshot(page, "sign-in-error")


def test_uploading_a_file_with_bad_rows_shows_them_in_quarantine(
    page, live: LiveTrust, tmp_path: Path
) -> None:
    csv = tmp_path / "spring-census.csv"
    csv.write_bytes(PUPILS_CSV)
    sign_in(page, live, live.people.camden_owner)
    page.click("text=Camden pupils")
    page.click("#upload-link")
    screenshot(page, "upload")
    page.set_input_files("#file", str(csv))
    page.click("#upload")
    banner = page.locator(".govuk-notification-banner")
    assert "2 rows accepted, 2 quarantined" in banner.inner_text()
    quarantine = page.locator("#quarantine").inner_text()
    assert "date_of_birth" in quarantine and "fsm_eligible" in quarantine
    assert "maybe" in quarantine  # the raw value the owner must fix
    screenshot(page, "dataset-with-quarantine")
    page.goto(live.url + "/")
    screenshot(page, "catalogue")


def test_another_members_data_owner_does_not_see_the_quarantine(
    page, live: LiveTrust, tmp_path: Path
) -> None:
    live.trust.ingest.ingest("camden/pupils", _csv(tmp_path))
    sign_in(page, live, live.people.hackney_owner)
    page.goto(live.url + "/datasets/camden/pupils")
    assert page.locator("#versions").count() == 1
    assert page.locator("#quarantine").count() == 0
    assert page.locator("#upload-link").count() == 0


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "pupils.csv"
    path.write_bytes(PUPILS_CSV)
    return path
