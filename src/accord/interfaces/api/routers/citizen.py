"""The citizen's own view: sign in with a one-time code, read who used your records, opt out.

A citizen is not a user of a member: they sign in with the identifiers a one-time code was
issued for (a stand-in for NHS login) and get a short-lived token (``cit_…``) that carries those
identifiers, encrypted. The report is always about the person the token was issued for.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from accord.audit.citizen import SESSION_LIFETIME, CitizenReport, Identifiers
from accord.errors import NotAuthenticated
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.api.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/citizen", tags=["citizen"], responses=PROBLEM_RESPONSES)
_bearer = HTTPBearer(auto_error=False, description="A citizen's token (cit_...) from sign-in")


class CitizenSignIn(BaseModel):
    """The details a one-time code was issued for, and the code."""

    nhs_number: str | None = Field(None, examples=["943 476 5919"])
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date
    postcode: str | None = None
    code: str = Field(examples=["123456"], description="The one-time code")


class CitizenToken(BaseModel):
    token: str
    expires_in: int = Field(description="Seconds until the token stops working")


def client_of(request: Request) -> str:
    """Who is asking, for the per-client limit (kept only as a keyed hash)."""
    return f"api:{request.client.host if request.client else 'unknown'}"


def citizen_identifiers(
    trust: TrustDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Identifiers:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated(
            "Sign in first (POST /api/v1/citizen/sign-in) and send the token as "
            "'Authorization: Bearer cit_...'"
        )
    return trust.citizen.identifiers(credentials.credentials)


CitizenDep = Annotated[Identifiers, Depends(citizen_identifiers)]


@router.post("/sign-in", response_model=CitizenToken, summary="Sign in with a one-time code")
def sign_in(body: CitizenSignIn, request: Request, trust: TrustDep) -> CitizenToken:
    ids = Identifiers.parse(**body.model_dump(exclude={"code"}))
    token = trust.citizen.sign_in(ids, body.code, client=client_of(request), channel="api")
    return CitizenToken(token=token, expires_in=int(SESSION_LIFETIME.total_seconds()))


@router.get(
    "/report",
    response_model=CitizenReport,
    summary="Who used my records, when and why; who holds them",
    responses={429: {"description": "Too many lookups in the last minute"}},
)
def report(ids: CitizenDep, request: Request, trust: TrustDep) -> CitizenReport:
    return trust.citizen.report(ids, client=client_of(request), channel="api")


@router.post(
    "/opt-out",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Record my national data opt-out",
)
def opt_out(ids: CitizenDep, trust: TrustDep) -> None:
    trust.citizen.opt_out(ids, source="citizen view", channel="api")
