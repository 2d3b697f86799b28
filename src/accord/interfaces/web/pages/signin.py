"""Signing in with a token, and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from accord.errors import NotAuthenticated
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.web.session import check_csrf, sign_in, sign_out
from accord.interfaces.web.templating import render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only our own paths: never redirect a signed-in user to another site.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/sign-in")
def sign_in_page(request: Request, next: str = "/") -> Response:
    return render(request, "sign_in.html", {"title": "Sign in", "next": _safe_next(next)})


@router.post("/sign-in")
async def sign_in_submit(request: Request, trust: TrustDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    token = str(form.get("token") or "").strip()
    target = _safe_next(str(form.get("next") or "/"))
    error = None
    if not token:
        error = "Enter your API token"
    else:
        try:
            sign_in(request, trust, token)
        except NotAuthenticated:
            error = "That token is not valid: it may have been rotated, or the user deactivated"
    if error:
        return render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "next": target,
                "token_error": error,
                "form_errors": [{"text": error, "href": "#token"}],
            },
            status=400,
        )
    return RedirectResponse(target, status_code=303)


@router.post("/sign-out")
async def sign_out_submit(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    sign_out(request)
    return RedirectResponse("/sign-in", status_code=303)
