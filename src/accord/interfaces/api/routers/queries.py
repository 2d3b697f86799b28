"""Queries under agreements, and the releases they make (JSON, CSV or Parquet)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from accord.interfaces.api.deps import ActingTrust, PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES
from accord.interfaces.releases import QueryRequest, ReleaseOut, release_file, release_out

router = APIRouter(tags=["queries and releases"], responses=PROBLEM_RESPONSES)


class ReleaseRecord(BaseModel):
    """The trust's record of a release (the answer itself is not kept)."""

    id: str
    made_at: datetime
    user_email: str
    member: str
    agreement: str
    agreement_version: int
    purpose: str
    sql_text: str
    columns: list[str]
    output: str
    rows_out: int
    people: int
    checksum: str
    changes: list[Any]


@router.post(
    "/queries",
    response_model=ReleaseOut,
    status_code=status.HTTP_201_CREATED,
    summary="Ask a question under an agreement; the answer is a release (JSON, CSV or Parquet)",
    responses={
        201: {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.apache.parquet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            }
        }
    },
)
def ask(body: QueryRequest, trust: ActingTrust, user: UserDep) -> Response:
    release = trust.queries.ask(
        user.email, body.agreement, body.purpose, body.sql, totals=body.totals
    )
    if body.format == "json":
        return JSONResponse(release_out(release).model_dump(mode="json"), status_code=201)
    content, media_type, filename = release_file(release, body.format)
    return Response(
        content,
        status_code=201,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Accord-Release": release.id,
        },
    )


@router.get("/releases", response_model=Page[ReleaseRecord], summary="Releases, newest first")
def releases(
    trust: TrustDep, user: UserDep, page: PageDep, agreement: str | None = None
) -> Page[ReleaseRecord]:
    return page.read(
        trust.queries.releases(agreement, offset=page.offset, limit=page.limit),
        trust.queries.release_total(agreement),
    )
