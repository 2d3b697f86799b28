"""The audit log page: recent entries, whether the chain verifies, releases over time."""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from accord.interfaces.api.deps import TrustDep
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser
from accord.interfaces.web.templating import render

router = APIRouter()


@router.get("/audit")
def audit_page(
    request: Request, trust: TrustDep, user: WebUser, kind: str = "", agreement: str = ""
) -> Response:
    entries = trust.audit.log(kind=kind or None, agreement=agreement or None, limit=100)
    report = trust.audit.verify()
    by_agreement: dict[str, list[datetime]] = defaultdict(list)
    releases: list[dict[str, object]] = []
    with suppress(ModuleNotFoundError):  # the query capability may not be in this build
        releases = trust.queries.releases()
    for r in releases:
        by_agreement[str(r["agreement"])].append(r["made_at"])  # type: ignore[arg-type]
    return render(
        request,
        "audit.html",
        {
            "title": "Audit log",
            "entries": entries,
            "report": report,
            "kind": kind,
            "agreement": agreement,
            "releases_chart": charts.counts_by_day(
                "Releases per agreement, last 30 days", by_agreement
            ),
            "release_count": len(releases),
        },
    )
