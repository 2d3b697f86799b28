"""Errors as RFC 9457 problem details (``application/problem+json``), mapped in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.errors import AccordError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("accord.api")

_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Cannot accept this input",
    500: "Internal error",
}


class Problem(BaseModel):
    """RFC 9457 problem details, with Accord's machine ``code`` and a list of ``errors``."""

    type: str = Field(description="A URI naming the kind of problem")
    title: str
    status: int
    detail: str = Field(description="What went wrong, in words a person can act on")
    instance: str | None = None
    code: str
    errors: list[str] = Field(default_factory=list)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM_JSON: {}}, "description": title}
    for status, title in _TITLES.items()
    if status in (400, 401, 403, 404, 409, 422)
}


def problem_response(
    request: Request, status: int, code: str, detail: str, errors: list[str] | None = None
) -> Response:
    # Pages (anything outside the API) get an HTML error page from the web interface instead.
    render_html = getattr(request.app.state, "html_errors", None)
    if render_html is not None and not request.url.path.startswith(
        ("/api/", "/healthz", "/readyz")
    ):
        return render_html(request, status, code, detail, errors or [])
    problem = Problem(
        type=f"urn:accord:problem:{code}",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=request.url.path,
        code=code,
        errors=errors or [],
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def _accord_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccordError)
    status = exc.status if 400 <= exc.status < 600 else 500
    if status >= 500:
        log.error("accord error", extra={"code": exc.code, "detail": exc.message})
    return problem_response(request, status, exc.code, exc.message, list(exc.details))


def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        errors.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", ""))
    return problem_response(
        request, 422, "invalid-input", "The request is not valid: see errors", errors
    )


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not-found", 405: "method-not-allowed", 401: "not-authenticated"}.get(
        exc.status_code, "http-error"
    )
    detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "Error")
    return problem_response(request, exc.status_code, code, detail)


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request, 500, "internal-error", "Something went wrong in the trust; it has been logged"
    )


def install(app: FastAPI) -> None:
    """Register the handlers: AccordError, validation errors, HTTP errors, anything else."""
    app.add_exception_handler(AccordError, _accord_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
