"""Linkage under an agreement: runs, status, the review queue, decisions, explanations.

Who may do what is decided in ``accord.policy.roles`` (parties see the status; data owners
of a controller and admins run, review and see the records of a pair).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from accord.catalogue.models import User
from accord.interfaces.api.deps import ActingTrust, PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES
from accord.linkage.explain import Explanation
from accord.linkage.records import LinkRun, LinkStatus, ReviewItem
from accord.policy.roles import review_linkage, see_linkage
from accord.trust import Trust

router = APIRouter(
    prefix="/agreements/{agreement_id}/linkage",
    tags=["linkage"],
    responses=PROBLEM_RESPONSES,
)

RECORD_EXAMPLE = "camden/school_census:P00123"


class RunRequest(BaseModel):
    backend: Literal["duckdb", "spark"] = Field(
        "duckdb", description="duckdb (one machine) or spark (large data)"
    )


class Decision(BaseModel):
    """A reviewer's decision on a pair: the same person (accept) or two people (reject)."""

    record_a: str = Field(min_length=1, max_length=300, examples=[RECORD_EXAMPLE])
    record_b: str = Field(min_length=1, max_length=300, examples=["islington/residents:R00456"])
    decision: Literal["accept", "reject"]


class ExplanationStep(BaseModel):
    """What one comparison contributed to a pair's match weight (in bits)."""

    comparison: str
    level: str = Field(description="The comparison level that applied")
    value_left: str = Field(description="Record A's values the comparison read")
    value_right: str = Field(description="Record B's values the comparison read")
    weight: float
    cumulative: float
    term_frequency_adjustment: bool = False


class ExplanationOut(BaseModel):
    """A pair's waterfall: the prior, then each comparison, adding up to the match weight."""

    record_a: str
    record_b: str
    steps: list[ExplanationStep]
    match_weight: float
    match_probability: float


def explanation_out(found: Explanation, record_a: str, record_b: str) -> ExplanationOut:
    return ExplanationOut(
        record_a=record_a,
        record_b=record_b,
        steps=[
            ExplanationStep(
                comparison=row.comparison,
                level=row.level,
                value_left=row.value_left,
                value_right=row.value_right,
                weight=row.weight,
                cumulative=row.cumulative,
                term_frequency_adjustment=row.term_frequency_adjustment,
            )
            for row in found.rows
        ],
        match_weight=found.match_weight,
        match_probability=found.match_probability,
    )


def _parties(trust: Trust, agreement_id: str) -> tuple[list[str], list[str]]:
    found = trust.agreements.status(agreement_id)  # NotFound for an unknown agreement
    return list(found.controllers), list(found.recipients)


def _reviewer(trust: Trust, user: User, agreement_id: str, action: str) -> None:
    controllers, recipients = _parties(trust, agreement_id)
    see_linkage(user, agreement_id, controllers, recipients)
    review_linkage(user, agreement_id, controllers, action)


@router.post(
    "/runs",
    response_model=LinkRun,
    status_code=status.HTTP_201_CREATED,
    summary="Link the datasets the agreement covers and (re)issue person keys",
)
def run(
    agreement_id: str, trust: ActingTrust, user: UserDep, body: RunRequest | None = None
) -> LinkRun:
    _reviewer(trust, user, agreement_id, "run linkage")
    return trust.linkage.run(agreement_id, backend=(body or RunRequest()).backend)


@router.get(
    "",
    response_model=LinkStatus,
    summary="The last run, its thresholds and counts, and the size of the review queue",
)
def linkage_status(agreement_id: str, trust: TrustDep, user: UserDep) -> LinkStatus:
    see_linkage(user, agreement_id, *_parties(trust, agreement_id))
    return trust.linkage.status(agreement_id)


@router.get(
    "/review",
    response_model=Page[ReviewItem],
    summary="Doubtful pairs waiting for a reviewer, most likely matches first",
)
def review_queue(
    agreement_id: str,
    trust: TrustDep,
    user: UserDep,
    page: PageDep,
    include_decided: bool = Query(False, description="Also list pairs already decided"),
) -> Page[ReviewItem]:
    _reviewer(trust, user, agreement_id, "see the review queue")
    return page.of(trust.linkage.review_queue(agreement_id, include_decided=include_decided))


@router.post(
    "/review",
    response_model=ReviewItem,
    summary="Accept (same person) or reject (two people) a pair; keys are updated at once",
)
def decide(agreement_id: str, body: Decision, trust: ActingTrust, user: UserDep) -> ReviewItem:
    _reviewer(trust, user, agreement_id, "accept or reject a pair")
    return trust.linkage.decide(
        agreement_id, body.record_a, body.record_b, accept=body.decision == "accept"
    )


@router.get(
    "/explain",
    response_model=ExplanationOut,
    summary="What each comparison contributed to a pair's match weight (the waterfall)",
)
def explain(
    agreement_id: str,
    trust: TrustDep,
    user: UserDep,
    a: str = Query(..., min_length=1, max_length=300, description="Record A, MEMBER/DATASET:KEY"),
    b: str = Query(..., min_length=1, max_length=300, description="Record B, MEMBER/DATASET:KEY"),
) -> ExplanationOut:
    _reviewer(trust, user, agreement_id, "see the records of a pair")
    return explanation_out(trust.linkage.explain(agreement_id, a, b), a, b)
