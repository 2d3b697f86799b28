"""Agreements: propose, lint, read in plain English, sign with a detached signature, revoke.

The agreements service decides who may propose, sign and revoke; each route passes the signed-in
user and the service refuses, saying why.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, status
from pydantic import BaseModel, Field

from accord.agreements.describe import plain_english
from accord.agreements.lint import LintReport
from accord.agreements.model import parse_agreement
from accord.agreements.signing import DetachedSignature
from accord.agreements.status import AgreementStatus, HistoryEntry, SignatureInfo, VersionInfo
from accord.interfaces.api.deps import PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/agreements", tags=["agreements"], responses=PROBLEM_RESPONSES)

AGREEMENT_BODY = Body(description="An agreement (the YAML templates' content, as JSON)")


class LintFinding(BaseModel):
    rule: str
    severity: str
    message: str


class LintResult(BaseModel):
    """The IG checks on an agreement: ``ok`` is false when an error blocks signing."""

    ok: bool
    findings: list[LintFinding]


class AgreementDetail(BaseModel):
    status: AgreementStatus
    agreement: dict[str, Any] = Field(description="The latest version, as proposed")
    plain_english: list[str]
    versions: list[VersionInfo]


class Revocation(BaseModel):
    reason: str = Field(min_length=1, examples=["The school closures ended"])


def _lint_result(report: LintReport) -> LintResult:
    return LintResult(
        ok=report.ok,
        findings=[
            LintFinding(rule=f.rule, severity=f.severity.value, message=f.message)
            for f in report.findings
        ],
    )


@router.get("", response_model=Page[AgreementStatus], summary="Agreements and where each stands")
def list_agreements(trust: TrustDep, user: UserDep, page: PageDep) -> Page[AgreementStatus]:
    return page.of(trust.agreements.list())


@router.post(
    "",
    response_model=VersionInfo,
    status_code=status.HTTP_201_CREATED,
    summary="Propose an agreement (a new one, or a new version of an existing one)",
)
def propose(
    trust: TrustDep, user: UserDep, agreement: dict[str, Any] = AGREEMENT_BODY
) -> VersionInfo:
    return trust.agreements.propose(agreement, actor=user)


@router.post("/lint", response_model=LintResult, summary="Run the IG checks without storing")
def lint_agreement(
    trust: TrustDep, user: UserDep, agreement: dict[str, Any] = AGREEMENT_BODY
) -> LintResult:
    return _lint_result(trust.agreements.lint(parse_agreement(agreement, "request body")))


@router.get("/{agreement_id}", response_model=AgreementDetail, summary="One agreement")
def get_agreement(agreement_id: str, trust: TrustDep, user: UserDep) -> AgreementDetail:
    model = trust.agreements.get(agreement_id)
    return AgreementDetail(
        status=trust.agreements.status(agreement_id),
        agreement=model.model_dump(mode="json", exclude_none=True),
        plain_english=plain_english(model),
        versions=trust.agreements.versions(agreement_id),
    )


@router.get(
    "/{agreement_id}/lint", response_model=LintResult, summary="The IG checks on the latest version"
)
def lint_stored(agreement_id: str, trust: TrustDep, user: UserDep) -> LintResult:
    return _lint_result(trust.agreements.lint(trust.agreements.get(agreement_id)))


@router.get(
    "/{agreement_id}/history",
    response_model=list[HistoryEntry],
    summary="Every recorded event about an agreement, oldest first",
)
def history(agreement_id: str, trust: TrustDep, user: UserDep) -> list[HistoryEntry]:
    return trust.agreements.history(agreement_id)


@router.post(
    "/{agreement_id}/signatures",
    response_model=SignatureInfo,
    status_code=status.HTTP_201_CREATED,
    summary="Sign the latest version as your member's IG lead, with a detached signature",
)
def sign(
    agreement_id: str, signature: DetachedSignature, trust: TrustDep, user: UserDep
) -> SignatureInfo:
    return trust.agreements.sign(agreement_id, user, signature)


@router.post(
    "/{agreement_id}/revoke",
    response_model=AgreementStatus,
    summary="Revoke an agreement: from now on it grants nothing",
)
def revoke(agreement_id: str, body: Revocation, trust: TrustDep, user: UserDep) -> AgreementStatus:
    trust.agreements.revoke(agreement_id, body.reason, actor=user)
    return trust.agreements.status(agreement_id)
