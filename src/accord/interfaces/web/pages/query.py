"""The query page: ask under an agreement, see the answer and its disclosure-control notes."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from accord.errors import AccordError
from accord.interfaces.api.deps import TrustDep, acting_as
from accord.interfaces.releases import release_file, release_out
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render

router = APIRouter()

ROWS_SHOWN = 200
# The answer is offered for download inside the page (a data: link), so the release is made
# once and nothing extra is kept in the trust; bigger answers are fetched through the API.
MAX_INLINE_DOWNLOAD = 5 * 1024 * 1024


def _form(request: Request, trust: TrustDep, **values: object) -> dict[str, object]:
    agreements = [a for a in trust.agreements.list() if a.state == "active"]
    return {"title": "Ask a question", "agreements": agreements, **values}


@router.get("/query")
def query_page(request: Request, trust: TrustDep, user: WebUser, agreement: str = "") -> Response:
    return render(request, "query.html", _form(request, trust, agreement=agreement))


@router.post("/query")
async def query_submit(request: Request, trust: TrustDep, user: WebUser) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    agreement = str(form.get("agreement") or "").strip()
    purpose = str(form.get("purpose") or "").strip()
    sql = str(form.get("sql") or "").strip()
    errors = []
    if not agreement:
        errors.append({"text": "Choose the agreement you are asking under", "href": "#agreement"})
    if not purpose:
        errors.append({"text": "Enter the purpose of your question", "href": "#purpose"})
    if not sql:
        errors.append({"text": "Enter your question as SQL", "href": "#sql"})
    values = {"agreement": agreement, "purpose": purpose, "sql": sql}
    if errors:
        return render(
            request, "query.html", _form(request, trust, form_errors=errors, **values), status=422
        )
    acting = acting_as(request, trust, user.email)
    try:
        release = await run_in_threadpool(acting.queries.ask, user.email, agreement, purpose, sql)
    except AccordError as exc:
        if exc.status == 401:
            raise
        refusal = {"text": exc.message, "href": "#sql"}
        return render(
            request,
            "query.html",
            _form(request, trust, form_errors=[refusal], refusal=exc, **values),
            status=exc.status if exc.status < 500 else 422,
        )
    out = release_out(release)
    downloads = []
    for fmt in ("csv", "parquet"):
        content, media_type, filename = release_file(release, fmt)
        if len(content) <= MAX_INLINE_DOWNLOAD:
            href = f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"
            downloads.append({"format": fmt.upper(), "href": href, "filename": filename})
    return render(
        request,
        "query.html",
        _form(
            request,
            trust,
            release=out,
            rows=out.rows[:ROWS_SHOWN],
            downloads=downloads,
            **values,
        ),
    )
