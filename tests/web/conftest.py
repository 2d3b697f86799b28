"""A live server on a free loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from accord import Trust
from accord.interfaces.api import create_app
from tests.agreements.conftest import populate
from tests.api.conftest import PUPILS_CONTRACT, People, add_people

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's Chromium)")


@dataclass
class LiveTrust:
    url: str
    trust: Trust
    people: People


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(trust: Trust) -> Iterator[str]:
    """``trust`` served by uvicorn in a background thread on a free loopback port."""
    port = _free_port()
    config = uvicorn.Config(create_app(trust), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def live(sqlite_trust: Trust) -> Iterator[LiveTrust]:
    """A served trust with two councils' people and Camden's pupils dataset."""
    people = add_people(sqlite_trust)
    sqlite_trust.catalogue.register_dataset(PUPILS_CONTRACT)
    with serve(sqlite_trust) as url:
        yield LiveTrust(url=url, trust=sqlite_trust, people=people)


@pytest.fixture
def live_pop(sqlite_trust: Trust) -> Iterator[tuple[str, Trust]]:
    """A served trust with the synthetic members, their users and contracts."""
    populate(sqlite_trust)
    with serve(sqlite_trust) as url:
        yield url, sqlite_trust


def screenshot(page: object, name: str) -> None:
    """Save a full-page screenshot under tests/screenshots/ (git-ignored) to look at."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def sign_in(page: object, live: LiveTrust | str, token: str) -> None:
    url = live if isinstance(live, str) else live.url
    page.goto(url + "/sign-in")  # type: ignore[attr-defined]
    page.fill("#token", token)  # type: ignore[attr-defined]
    page.click("#sign-in")  # type: ignore[attr-defined]
