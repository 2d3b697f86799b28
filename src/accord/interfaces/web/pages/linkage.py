"""Linkage pages: how an agreement's linkage went, its review queue, and reviewing one pair.

The weights chart and the pair's waterfall are SVG drawn on the server; accepting or rejecting
is a plain form (with its CSRF token), so review works without JavaScript. Who may see what is
the linkage service's to decide: each page passes the signed-in user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from accord.catalogue.models import User
from accord.errors import AccordError, InvalidInput
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render
from accord.linkage.records import LinkStatus, parse_record
from accord.linkage.weights import WeightHistogram
from accord.trust import Trust

router = APIRouter()

PER_PAGE = 25


@dataclass
class Agreement:
    id: str
    title: str
    state: str
    controllers: list[str]
    recipients: list[str]


def _agreement(trust: Trust, agreement_id: str) -> Agreement:
    status = trust.agreements.status(agreement_id)  # NotFound for an unknown agreement
    return Agreement(
        status.id, status.title, status.state, list(status.controllers), list(status.recipients)
    )


@router.get("/linkage")
def linkage_index(request: Request, trust: TrustDep, user: WebUser) -> Response:
    rows = [
        {"agreement": status, "linkage": linkage}
        for status, linkage in trust.linkage.overview(actor=user)
    ]
    return render(request, "linkage_index.html", {"title": "Linkage", "rows": rows})


@dataclass
class WeightSummary:
    chart: Markup
    pairs: int
    links: int
    doubtful: int
    reviewed: int
    threshold_weight: float
    floor_weight: float


def _weights(found: WeightHistogram | None, status: LinkStatus) -> WeightSummary | None:
    if found is None:
        return None
    chart = charts.histogram(
        "Match weights of the pairs the last run scored",
        found.counts,
        found.lo,
        found.hi,
        [
            charts.Marker(found.floor_weight, "review floor", found.linked + found.to_review),
            charts.Marker(found.threshold_weight, "link threshold", found.linked),
        ],
        spread=(found.minimum, found.maximum) if found.minimum is not None else None,
    )
    return WeightSummary(
        chart,
        found.pairs,
        found.linked,
        found.to_review,
        status.review_decided,
        found.threshold_weight,
        found.floor_weight,
    )


@router.get("/agreements/{agreement_id}/linkage")
def linkage_page(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser, page: int = 1
) -> Response:
    agreement = _agreement(trust, agreement_id)
    shown = trust.linkage.page(
        agreement_id, actor=user, offset=(max(page, 1) - 1) * PER_PAGE, limit=PER_PAGE
    )
    status, reviewer = shown.status, shown.reviewer
    pages = max(1, math.ceil(status.review_open / PER_PAGE)) if reviewer else 1
    if page > pages or page < 1:  # past the end (pairs decided meanwhile): the last page
        page = min(max(page, 1), pages)
        shown = trust.linkage.page(
            agreement_id, actor=user, offset=(page - 1) * PER_PAGE, limit=PER_PAGE
        )
    pagination = None
    if reviewer and pages > 1:
        base = f"/agreements/{agreement_id}/linkage?page="
        pagination = {
            "previous": {"href": f"{base}{page - 1}"} if page > 1 else None,
            "next": {"href": f"{base}{page + 1}"} if page < pages else None,
            "items": [
                {"number": n, "href": f"{base}{n}", "current": n == page}
                for n in range(1, pages + 1)
            ],
        }
    return render(
        request,
        "linkage.html",
        {
            "title": f"Linkage: {agreement.title}",
            "agreement": agreement,
            "status": status,
            "weights": _weights(shown.weights, status),
            "reviewer": reviewer,
            "queue": shown.queue,
            "queue_start": (page - 1) * PER_PAGE,
            "pagination": pagination,
            "pair_href": lambda item: _pair_href(agreement_id, item.record_a, item.record_b),
            "flash": request.session.pop("flash", None),
        },
    )


def _pair_href(agreement_id: str, a: str, b: str) -> str:
    return f"/agreements/{agreement_id}/linkage/pairs?{urlencode({'a': a, 'b': b})}"


@router.post("/agreements/{agreement_id}/linkage/run")
async def run_submit(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    run = await run_in_threadpool(lambda: trust.linkage.run(agreement_id, actor=user))
    request.session["flash"] = {
        "success": True,
        "html": str(
            Markup(
                '<p class="govuk-notification-banner__heading">Run {} finished: {} records, '
                "{} people, {} pairs to review.</p>"
            ).format(run.number, f"{run.records:,}", f"{run.clusters:,}", run.review_added)
        ),
    }
    return RedirectResponse(f"/agreements/{agreement_id}/linkage", status_code=303)


def _pair_context(
    trust: Trust, user: User, agreement: Agreement, a: str, b: str
) -> dict[str, object]:
    for text in (a, b):
        parse_record(text)  # a clear message for a malformed reference
    pair = trust.linkage.review_pair(agreement.id, a, b, actor=user)
    found = pair.explanation
    rows = found.rows
    prior = rows[0] if rows and rows[0].comparison == "Prior" else None
    steps = [r for r in rows if r is not prior]
    waterfall = charts.waterfall(
        "What each comparison contributed to the match weight",
        ("Prior", prior.weight if prior else 0.0),
        [
            (r.comparison, r.weight)
            for r in steps
            if not (r.term_frequency_adjustment and not r.weight)
        ],
    )
    return {
        "title": "Review a pair",
        "agreement": agreement,
        "a": a,
        "b": b,
        "explanation": found,
        "records": found.side_by_side(),
        "missing": [r.record for r in found.records if not r.found],
        "steps": [r for r in steps if not r.term_frequency_adjustment],
        "adjustments": [r for r in steps if r.term_frequency_adjustment and r.weight],
        "prior": prior,
        "waterfall": waterfall,
        "item": pair.item,
    }


@router.get("/agreements/{agreement_id}/linkage/pairs")
def pair_page(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser, a: str = "", b: str = ""
) -> Response:
    agreement = _agreement(trust, agreement_id)
    if not a or not b:
        raise InvalidInput("Choose a pair from the review queue: the page needs both records")
    return render(request, "linkage_pair.html", _pair_context(trust, user, agreement, a, b))


@router.post("/agreements/{agreement_id}/linkage/pairs")
async def decide_submit(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    a, b = str(form.get("a") or ""), str(form.get("b") or "")
    decision = str(form.get("decision") or "")
    if decision not in ("accept", "reject"):
        context = _pair_context(trust, user, _agreement(trust, agreement_id), a, b)
        error = "Choose whether these records are the same person or two people"
        return render(
            request,
            "linkage_pair.html",
            {**context, "form_errors": [{"text": error, "href": "#decision"}]},
            status=422,
        )
    try:
        item = await run_in_threadpool(
            lambda: trust.linkage.decide(agreement_id, a, b, decision == "accept", actor=user)
        )
    except AccordError as exc:
        if exc.status in (401, 403, 404):
            raise
        # The agreement is read only to show the pair again: a decision that goes through
        # needs nothing of it here.
        context = _pair_context(trust, user, _agreement(trust, agreement_id), a, b)
        return render(
            request,
            "linkage_pair.html",
            {**context, "form_errors": [{"text": exc.message, "href": "#decision"}]},
            status=422,
        )
    left = trust.linkage.status(agreement_id, actor=user).review_open
    words = "the same person" if item.status == "accepted" else "two different people"
    request.session["flash"] = {
        "success": True,
        "html": str(
            Markup(
                '<p class="govuk-notification-banner__heading">Recorded: {} and {} are {}.</p>'
                '<p class="govuk-body">Person keys were updated. {} pairs left to review.</p>'
            ).format(escape(item.record_a), escape(item.record_b), words, left)
        ),
    }
    return RedirectResponse(f"/agreements/{agreement_id}/linkage", status_code=303)
