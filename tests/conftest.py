"""Shared fixtures. Every test that takes ``trust`` runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from accord import Trust

# One browser for the whole run: a second sync Playwright cannot start while one is open.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PG_URL = os.environ.get("ACCORD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database(backend: str) -> Iterator[tuple[str | None, str | None]]:
    """(database_url, schema) for a fresh, empty metadata database on ``backend``."""
    if backend == "sqlite":
        yield None, None
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    yield PG_URL, schema
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def trust(tmp_path: Path, database: tuple[str | None, str | None]) -> Iterator[Trust]:
    url, schema = database
    opened = Trust.init(
        tmp_path / "home", database_url=url, database_schema=schema, actor="tester@accord.test"
    )
    yield opened
    opened.close()


@pytest.fixture
def sqlite_trust(tmp_path: Path) -> Iterator[Trust]:
    """A trust on SQLite only, for tests whose subject is not the metadata backend."""
    opened = Trust.init(tmp_path / "home", actor="tester@accord.test")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    # Fail, never skip: a missing browser is a broken set-up, not a reason to pass.
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run ./scripts/setup.sh"
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})  # type: ignore[attr-defined]
    opened = context.new_page()
    yield opened
    context.close()
