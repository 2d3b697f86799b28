"""Linkage pages: how an agreement's linkage went, its review queue, and reviewing one pair.

The weights chart and the pair's waterfall are SVG drawn on the server; accepting or rejecting
is a plain form (with its CSRF token), so review works without JavaScript.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

import pyarrow.parquet as pq
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from accord.errors import AccordError, InvalidInput
from accord.interfaces.api.deps import TrustDep, acting_as
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render
from accord.linkage.records import LinkStatus, ReviewItem, parse_record
from accord.policy.roles import (
    may_review_linkage,
    may_see_linkage,
    review_linkage,
    see_linkage,
)
from accord.trust import Trust

router = APIRouter()

PER_PAGE = 25
# Probabilities of exactly 0 or 1 (a reviewer's decision) have no finite weight; the chart clips.
_CLIP = 1e-9


def match_weight(probability: float) -> float:
    """The match weight (bits of evidence) of a match probability: log2(p / (1 - p)).

    Examples:
        >>> match_weight(0.5)
        0.0
        >>> round(match_weight(0.9), 2)
        3.17
    """
    p = min(max(probability, _CLIP), 1 - _CLIP)
    return math.log2(p / (1 - p))


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
    rows = []
    for status in trust.agreements.list():
        if not may_see_linkage(user, status.controllers, status.recipients):
            continue
        if not trust.agreements.get(status.id).linkage.permitted:
            continue
        linkage = trust.linkage.status(status.id)
        rows.append({"agreement": status, "linkage": linkage})
    return render(request, "linkage_index.html", {"title": "Linkage", "rows": rows})


def _links_made(trust: Trust, agreement_id: str) -> list[float]:
    """Match probabilities of the links the trust made: for each person with k records, the
    k - 1 strongest best-link probabilities of its records (from the person keys file)."""
    path = trust.linkage.keys_path(agreement_id)
    if path is None:
        return []
    keys = pq.read_table(path, columns=["person_key", "match_probability"])
    by_person: dict[str, list[float]] = defaultdict(list)
    for person, p in zip(
        keys.column("person_key").to_pylist(),
        keys.column("match_probability").to_pylist(),
        strict=True,
    ):
        by_person[person].append(p)
    links: list[float] = []
    for probabilities in by_person.values():
        known = sorted((p for p in probabilities if p is not None), reverse=True)
        if len(probabilities) > 1 and known:
            # The best link is shared by both records it joins: count it once.
            links.extend(known[1:] if len(known) == len(probabilities) else known)
    return links


@dataclass
class WeightSummary:
    chart: Markup
    links: int
    reviewed_links: int
    doubtful: int
    threshold_weight: float
    floor_weight: float


def _weights(trust: Trust, status: LinkStatus, queue: list[ReviewItem]) -> WeightSummary | None:
    run = status.run
    if run is None:
        return None
    made = _links_made(trust, status.agreement)
    decided = [p for p in made if p >= 1.0]  # a reviewer's acceptance, not the model's weight
    model_links = [match_weight(p) for p in made if p < 1.0]
    doubtful = [match_weight(i.match_probability) for i in queue if i.match_probability is not None]
    threshold, floor = match_weight(run.link_threshold), match_weight(run.review_floor)
    chart = charts.histogram(
        "Match weights of the links made and of the pairs sent to review",
        model_links + doubtful,
        thresholds=[(floor, "review floor"), (threshold, "link threshold")],
    )
    return WeightSummary(chart, len(model_links), len(decided), len(doubtful), threshold, floor)


@router.get("/agreements/{agreement_id}/linkage")
def linkage_page(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser, page: int = 1
) -> Response:
    agreement = _agreement(trust, agreement_id)
    see_linkage(user, agreement_id, agreement.controllers, agreement.recipients)
    reviewer = may_review_linkage(user, agreement.controllers)
    status = trust.linkage.status(agreement_id)
    everything = trust.linkage.review_queue(agreement_id, include_decided=True)
    open_pairs = [i for i in everything if i.status == "open"]
    pages = max(1, math.ceil(len(open_pairs) / PER_PAGE))
    page = min(max(page, 1), pages)
    shown = open_pairs[(page - 1) * PER_PAGE : page * PER_PAGE] if reviewer else []
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
            "weights": _weights(trust, status, everything),
            "reviewer": reviewer,
            "queue": shown,
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
    agreement = _agreement(trust, agreement_id)
    see_linkage(user, agreement_id, agreement.controllers, agreement.recipients)
    review_linkage(user, agreement_id, agreement.controllers, "run linkage")
    acting = acting_as(request, trust, user.email)
    run = await run_in_threadpool(acting.linkage.run, agreement_id)
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


def _pair_context(trust: Trust, agreement: Agreement, a: str, b: str) -> dict[str, object]:
    for text in (a, b):
        parse_record(text)  # a clear message for a malformed reference
    found = trust.linkage.explain(agreement.id, a, b)
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
    decided = next(
        (
            i
            for i in trust.linkage.review_queue(agreement.id, include_decided=True)
            if {i.record_a, i.record_b} == {a, b}
        ),
        None,
    )
    return {
        "title": "Review a pair",
        "agreement": agreement,
        "a": a,
        "b": b,
        "explanation": found,
        "steps": [r for r in steps if not r.term_frequency_adjustment],
        "adjustments": [r for r in steps if r.term_frequency_adjustment and r.weight],
        "prior": prior,
        "waterfall": waterfall,
        "item": decided,
    }


@router.get("/agreements/{agreement_id}/linkage/pairs")
def pair_page(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser, a: str = "", b: str = ""
) -> Response:
    agreement = _agreement(trust, agreement_id)
    see_linkage(user, agreement_id, agreement.controllers, agreement.recipients)
    review_linkage(user, agreement_id, agreement.controllers, "see the records of a pair")
    if not a or not b:
        raise InvalidInput("Choose a pair from the review queue: the page needs both records")
    return render(request, "linkage_pair.html", _pair_context(trust, agreement, a, b))


@router.post("/agreements/{agreement_id}/linkage/pairs")
async def decide_submit(
    request: Request, agreement_id: str, trust: TrustDep, user: WebUser
) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    agreement = _agreement(trust, agreement_id)
    see_linkage(user, agreement_id, agreement.controllers, agreement.recipients)
    review_linkage(user, agreement_id, agreement.controllers, "accept or reject a pair")
    a, b = str(form.get("a") or ""), str(form.get("b") or "")
    decision = str(form.get("decision") or "")
    if decision not in ("accept", "reject"):
        context = _pair_context(trust, agreement, a, b)
        error = "Choose whether these records are the same person or two people"
        return render(
            request,
            "linkage_pair.html",
            {**context, "form_errors": [{"text": error, "href": "#decision"}]},
            status=422,
        )
    acting = acting_as(request, trust, user.email)
    try:
        item = await run_in_threadpool(
            acting.linkage.decide, agreement_id, a, b, decision == "accept"
        )
    except AccordError as exc:
        if exc.status in (401, 403, 404):
            raise
        context = _pair_context(trust, agreement, a, b)
        return render(
            request,
            "linkage_pair.html",
            {**context, "form_errors": [{"text": exc.message, "href": "#decision"}]},
            status=422,
        )
    left = trust.linkage.status(agreement_id).review_open
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
