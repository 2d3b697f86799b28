"""The Jinja environment: Accord's templates plus the GOV.UK Frontend macros."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)

TEMPLATES = Path(__file__).parent / "templates"

# The service navigation: (label, path, page module). Pages of capabilities absent from this
# build are left out.
NAVIGATION: list[tuple[str, str, str]] = [
    ("Catalogue", "/", "catalogue"),
    ("Agreements", "/agreements", "agreements"),
    ("Linkage", "/linkage", "linkage"),
    ("Query", "/query", "query"),
    ("Audit log", "/audit", "audit"),
]


@cache
def environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(TEMPLATES),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["datetime"] = lambda v: v.strftime("%-d %B %Y %H:%M") if v else ""
    env.filters["date"] = lambda v: v.strftime("%-d %B %Y") if v else ""
    env.filters["number"] = lambda v: f"{v:,}" if isinstance(v, int) else v
    return env


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with the signed-in user, navigation and CSRF token available."""
    from accord.interfaces.web.session import csrf_token

    installed = getattr(request.app.state, "web_pages", set())
    navigation = [
        {"text": label, "href": path, "active": _active(request.url.path, path)}
        for label, path, page in NAVIGATION
        if page in installed
    ]
    values = {
        "request": request,
        "user": getattr(request.state, "web_user", None),
        "navigation": navigation,
        "csrf_token": csrf_token(request),
        **(context or {}),
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status)


def _active(current: str, path: str) -> bool:
    if path == "/":
        return current == "/" or current.startswith("/datasets")
    return current == path or current.startswith(path + "/")
