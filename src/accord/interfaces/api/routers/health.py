"""Liveness and readiness, for the operator's load balancer and orchestrator."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from accord.interfaces.api.deps import TrustDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    checks: dict[str, str] = {}


@router.get("/healthz", response_model=Health, summary="The process is up")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="The trust can serve: its database answers and its home is writable",
    responses={503: {"model": Health, "description": "Not ready"}},
)
def readyz(trust: TrustDep) -> Health | JSONResponse:
    checks: dict[str, str] = {}
    try:
        with trust.store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready", with the reason
        checks["database"] = f"unreachable: {type(exc).__name__}"
    checks["home"] = "ok" if trust.home.is_dir() else "missing"
    if all(v == "ok" for v in checks.values()):
        return Health(status="ok", checks=checks)
    return JSONResponse(Health(status="unavailable", checks=checks).model_dump(), status_code=503)
