"""Linkage under an agreement: runs, status, the review queue, decisions, explanations.

The linkage service decides who may do what (``accord.policy.roles``: parties see the status;
data owners of a controller and admins run, review and see the records of a pair); each route
passes the signed-in user and the service refuses, saying why.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from accord.interfaces.api.deps import PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES
from accord.linkage.explain import Explanation
from accord.linkage.records import LinkRun, LinkStatus, ReviewItem
from accord.linkage.weights import WeightHistogram

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


class RecordField(BaseModel):
    """One field of a record as its dataset holds it, with its identifier role if it has one."""

    name: str
    role: str | None = None
    value: str | None = None


class RecordOut(BaseModel):
    """A record of the pair: the fields the agreement shares, as they stand in the dataset's
    latest version (``found`` false: no longer there or no longer shared; no fields given)."""

    record: str = Field(examples=[RECORD_EXAMPLE])
    found: bool
    fields: list[RecordField]


class ExplanationOut(BaseModel):
    """A pair's waterfall (the prior, then each comparison, adding up to the match weight) and
    the two records' shared fields."""

    record_a: str
    record_b: str
    steps: list[ExplanationStep]
    match_weight: float
    match_probability: float
    records: list[RecordOut] = Field(description="Record A, then record B")


def explanation_out(found: Explanation, record_a: str, record_b: str) -> ExplanationOut:
    return ExplanationOut(
        record_a=record_a,
        record_b=record_b,
        records=[
            RecordOut(
                record=r.record,
                found=r.found,
                fields=[RecordField(name=f.name, role=f.role, value=f.value) for f in r.fields],
            )
            for r in found.records
        ],
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


@router.post(
    "/runs",
    response_model=LinkRun,
    status_code=status.HTTP_201_CREATED,
    summary="Link the datasets the agreement covers and (re)issue person keys",
)
def run(
    agreement_id: str, trust: TrustDep, user: UserDep, body: RunRequest | None = None
) -> LinkRun:
    return trust.linkage.run(agreement_id, backend=(body or RunRequest()).backend, actor=user)


@router.get(
    "",
    response_model=LinkStatus,
    summary="The last run, its thresholds and counts, and the size of the review queue",
)
def linkage_status(agreement_id: str, trust: TrustDep, user: UserDep) -> LinkStatus:
    return trust.linkage.status(agreement_id, actor=user)


@router.get(
    "/weights",
    response_model=WeightHistogram | None,
    summary="How the last run's scored pairs are spread by match weight (histogram bins)",
)
def weights(
    agreement_id: str,
    trust: TrustDep,
    user: UserDep,
    bins: int = Query(30, ge=1, le=200, description="Number of equal-width bins"),
) -> WeightHistogram | None:
    return trust.linkage.weights(agreement_id, bins=bins, actor=user)


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
    return page.read(
        trust.linkage.review_queue(
            agreement_id,
            include_decided=include_decided,
            actor=user,
            offset=page.offset,
            limit=page.limit,
        ),
        trust.linkage.review_total(agreement_id, include_decided=include_decided, actor=user),
    )


@router.post(
    "/review",
    response_model=ReviewItem,
    summary="Accept (same person) or reject (two people) a pair; keys are updated at once",
)
def decide(agreement_id: str, body: Decision, trust: TrustDep, user: UserDep) -> ReviewItem:
    return trust.linkage.decide(
        agreement_id, body.record_a, body.record_b, accept=body.decision == "accept", actor=user
    )


@router.get(
    "/explain",
    response_model=ExplanationOut,
    summary="The two records' shared fields, and what each comparison contributed to the "
    "pair's match weight (the waterfall)",
)
def explain(
    agreement_id: str,
    trust: TrustDep,
    user: UserDep,
    a: str = Query(..., min_length=1, max_length=300, description="Record A, MEMBER/DATASET:KEY"),
    b: str = Query(..., min_length=1, max_length=300, description="Record B, MEMBER/DATASET:KEY"),
) -> ExplanationOut:
    return explanation_out(trust.linkage.explain(agreement_id, a, b, actor=user), a, b)
