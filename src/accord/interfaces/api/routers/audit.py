"""The audit log: entries, verification and signed checkpoints.

Anyone signed in reads and verifies the log; the audit service refuses, saying why, anyone but an
admin signing a checkpoint (each route passes the signed-in user).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from accord.audit.service import LogEntry
from accord.interfaces.api.deps import TrustDep, UserDep
from accord.interfaces.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/audit", tags=["audit"], responses=PROBLEM_RESPONSES)


class Verification(BaseModel):
    ok: bool
    summary: str
    entries: int
    checkpoints: int
    first_bad: int | None
    problems: list[str]
    notes: list[str]
    public_key: str


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str
    head_hash: str
    signed_at: str
    signature: str


@router.get("/log", response_model=list[LogEntry], summary="Log entries, newest first")
def log(
    trust: TrustDep,
    user: UserDep,
    member: str | None = None,
    agreement: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    limit: int = Query(50, ge=1, le=10_000),
) -> list[LogEntry]:
    return trust.audit.log(member=member, agreement=agreement, kind=kind, since=since, limit=limit)


@router.get("/verify", response_model=Verification, summary="Check the hash chain and checkpoints")
def verify(trust: TrustDep, user: UserDep) -> Verification:
    report = trust.audit.verify()
    return Verification(
        ok=report.ok,
        summary=report.summary(),
        **{
            k: v
            for k, v in asdict(report).items()
            if k in ("entries", "checkpoints", "first_bad", "problems", "notes", "public_key")
        },
    )


@router.get("/checkpoints", response_model=list[CheckpointOut], summary="Signed checkpoints")
def checkpoints(trust: TrustDep, user: UserDep) -> list[CheckpointOut]:
    return [CheckpointOut(**asdict(c)) for c in trust.audit.checkpoints()]


@router.post(
    "/checkpoints",
    response_model=CheckpointOut,
    status_code=status.HTTP_201_CREATED,
    summary="Sign a checkpoint of the log as it stands",
)
def checkpoint(trust: TrustDep, user: UserDep) -> CheckpointOut:
    return CheckpointOut(**asdict(trust.audit.checkpoint(actor=user)))
