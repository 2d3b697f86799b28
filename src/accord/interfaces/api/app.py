"""The application factory: ``create_app(trust)`` gives the API (and the web pages) of a trust."""

from __future__ import annotations

import importlib
import logging
import threading
from collections import OrderedDict

from fastapi import APIRouter, FastAPI

from accord.interfaces.api import problems
from accord.interfaces.api.logs import RequestLog
from accord.interfaces.api.routers import health, people
from accord.interfaces.uploads import max_upload_bytes
from accord.trust import Trust

API_PREFIX = "/api/v1"
log = logging.getLogger("accord.api")

# Routers of capabilities, included when the capability is part of this build (the same rule as
# the CLI's SUB_APPS: a missing service module means its routes are simply absent).
CAPABILITY_ROUTERS: list[str] = [
    "accord.interfaces.api.routers.datasets:router",
    "accord.interfaces.api.routers.agreements:router",
    "accord.interfaces.api.routers.linkage:router",
    "accord.interfaces.api.routers.queries:router",
    "accord.interfaces.api.routers.audit:router",
    "accord.interfaces.api.routers.citizen:router",
]

DESCRIPTION = """
Accord's API: members, datasets and their versions, agreements, linkage, queries and releases,
and the audit log. Authenticate with a user's token: `Authorization: Bearer acc_...`.
Errors are RFC 9457 problem details (`application/problem+json`); lists are paginated with
`offset` and `limit`.
"""


def create_app(trust: Trust, *, web: bool = True, max_upload: int | None = None) -> FastAPI:
    """The FastAPI application serving ``trust``: API under ``/api/v1``, pages under ``/``.

    Examples:
        >>> import uvicorn  # doctest: +SKIP
        >>> uvicorn.run(create_app(Trust.open("accord-home")))  # doctest: +SKIP
    """
    app = FastAPI(
        title="Accord",
        version="1",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.trust = trust
    app.state.acting = OrderedDict()
    app.state.acting_lock = threading.Lock()
    app.state.max_upload_bytes = max_upload or max_upload_bytes()
    problems.install(app)
    app.add_middleware(RequestLog)

    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(people.router)
    for target in CAPABILITY_ROUTERS:
        router = _load(target)
        if router is not None:
            api.include_router(router)
    app.include_router(api)

    if web:
        from accord.interfaces.web.routes import install as install_web

        install_web(app)
    return app


def _load(target: str) -> APIRouter | None:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only a missing capability is skipped; a broken import inside one is a real error.
        if exc.name is None or not exc.name.startswith("accord."):
            raise
        log.info("capability absent", extra={"router": module_name, "missing": exc.name})
        return None
    return getattr(module, attribute)
