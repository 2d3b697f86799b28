"""Agreements: the list, the plain-English page with its sign-off state, and signing."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from accord.agreements.describe import STATE_WORDS, plain_english
from accord.agreements.signing import DetachedSignature
from accord.errors import AccordError
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.uploads import receive_upload
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render
from accord.policy import roles

router = APIRouter()

STATE_TAGS = {
    "active": "govuk-tag--green",
    "awaiting-signatures": "govuk-tag--yellow",
    "scheduled": "govuk-tag--blue",
    "expired": "govuk-tag--grey",
    "revoked": "govuk-tag--red",
}


@router.get("/agreements")
def agreements_page(request: Request, trust: TrustDep, user: WebUser) -> Response:
    return render(
        request,
        "agreements.html",
        {
            "title": "Agreements",
            "agreements": trust.agreements.list(),
            "state_words": STATE_WORDS,
            "state_tags": STATE_TAGS,
        },
    )


def _detail(request: Request, trust: TrustDep, user: WebUser, agreement_id: str, **extra: object):
    status = trust.agreements.status(agreement_id)
    model = trust.agreements.get(agreement_id)
    history = trust.agreements.history(agreement_id)
    signed = {s.member for s in status.signatures if s.valid}
    may_sign = (
        roles.may_sign_agreement(user, status.controllers)
        and user.member not in signed
        and status.state != "revoked"
    )
    lint = trust.agreements.lint(model)
    timeline = charts.timeline(
        "Sign-off timeline",
        [(h.occurred_at, h.summary) for h in history if not h.kind.startswith("access.")],
    )
    return render(
        request,
        "agreement.html",
        {
            "title": status.title,
            "status": status,
            "agreement": model,
            "sentences": plain_english(model)[2:],
            "state_words": STATE_WORDS,
            "state_tags": STATE_TAGS,
            "may_sign": may_sign,
            "lint": lint,
            "timeline": timeline,
            "history": history,
            "flash": request.session.pop("flash", None),
            **extra,
        },
        status=422 if extra.get("form_errors") else 200,
    )


@router.get("/agreements/{agreement_id}")
def agreement_page(request: Request, agreement_id: str, trust: TrustDep, user: WebUser) -> Response:
    return _detail(request, trust, user, agreement_id)


@router.post("/agreements/{agreement_id}/sign")
async def sign_submit(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser
) -> Response:
    signature: DetachedSignature | None = None
    error = None
    received = await receive_upload(
        request, trust.home, 64 * 1024, file_field="signature", require_file=False
    )
    try:
        check_csrf(request, received.fields.get("csrf"))
        if received.filename is not None:
            try:
                signature = DetachedSignature.model_validate(
                    json.loads(received.path.read_text(encoding="utf-8"))
                )
            except (ValueError, ValidationError):
                error = "The file is not an Accord signature file (made by accord agreement sign)"
    finally:
        received.discard()
    if error is None:
        try:
            # The service decides whether this user may sign, and records them as the signer.
            await run_in_threadpool(trust.agreements.sign, agreement_id, user, signature)
        except AccordError as exc:
            if exc.status in (401, 403):
                raise
            error = exc.message + "".join(f" {d}" for d in exc.details[:5])
    if error:
        return _detail(
            request,
            trust,
            user,
            agreement_id,
            sign_error=error,
            form_errors=[{"text": error, "href": "#signature"}],
        )
    request.session["flash"] = {
        "success": True,
        "html": f'<p class="govuk-notification-banner__heading">Signed for {user.member}.</p>',
    }
    return RedirectResponse(f"/agreements/{agreement_id}", status_code=303)
