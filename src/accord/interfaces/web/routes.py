"""Wire the web pages into an app: session cookies, the GOV.UK assets, pages, HTML errors."""

from __future__ import annotations

import importlib
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from accord.interfaces.web.session import SESSION_COOKIE, session_secret
from accord.interfaces.web.templating import render

STATIC = Path(__file__).parent / "static"
GOVUK_ASSETS = STATIC / "govuk"

# Page modules, each with a ``router``; a page whose service is absent from this build is skipped.
PAGES: list[str] = [
    "accord.interfaces.web.pages.signin",
    "accord.interfaces.web.pages.catalogue",
    "accord.interfaces.web.pages.agreements",
    "accord.interfaces.web.pages.linkage",
    "accord.interfaces.web.pages.query",
    "accord.interfaces.web.pages.audit",
    "accord.interfaces.web.pages.citizen",
]

_TITLES = {401: "Sign in", 403: "You cannot do this", 404: "Page not found"}


def install(app: FastAPI) -> None:
    """Add the pages of the web interface to ``app`` (made by ``create_app``)."""
    trust = app.state.trust
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(trust),
        session_cookie=SESSION_COOKIE,
        max_age=8 * 3600,
        same_site="lax",
        https_only=False,  # behind TLS the operator's proxy sets Secure; loopback has no TLS
    )
    if not GOVUK_ASSETS.is_dir():
        raise RuntimeError(
            "The GOV.UK Frontend assets are missing: run scripts/install-web-assets.sh"
        )
    app.mount("/assets", StaticFiles(directory=GOVUK_ASSETS), name="assets")
    app.mount("/static", StaticFiles(directory=STATIC / "accord"), name="static")
    app.state.web_pages = set()
    for module_name in PAGES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not exc.name.startswith("accord."):
                raise
            continue
        app.include_router(module.router, include_in_schema=False)
        app.state.web_pages.add(module_name.rsplit(".", 1)[-1])
    app.state.html_errors = html_error


def html_error(
    request: Request, status: int, code: str, detail: str, errors: list[str]
) -> Response:
    """An error on a page: the sign-in page for 401s, otherwise a GOV.UK error page."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
    title = _TITLES.get(
        status, "There is a problem" if status < 500 else "Sorry, there is a problem"
    )
    return render(
        request,
        "error.html",
        {"title": title, "detail": detail, "errors": errors, "status": status},
        status=status,
    )
