"""Datasets: contracts, versions, uploads (the same ingest path as the CLI) and quarantine.

The catalogue and ingest services decide who may do what (``accord.policy.roles``: a data owner
of the dataset's member, or an admin, registers, uploads and sees the quarantine); each route
passes the signed-in user and the service refuses, saying why.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from accord.catalogue.contract import parse_contract
from accord.catalogue.models import Dataset, Version
from accord.ingest.results import IngestResult
from accord.interfaces.api.deps import PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES
from accord.interfaces.tables import QuarantinePage, quarantine_page
from accord.interfaces.uploads import receive_upload

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=PROBLEM_RESPONSES)

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV, Excel or Parquet file",
                        }
                    },
                }
            }
        },
    }
}


@router.get("", response_model=Page[Dataset], summary="The catalogue: datasets and their freshness")
def list_datasets(
    trust: TrustDep, user: UserDep, page: PageDep, member: str | None = None
) -> Page[Dataset]:
    return page.of(trust.catalogue.list_datasets(member))


@router.post(
    "",
    response_model=Dataset,
    status_code=status.HTTP_201_CREATED,
    summary="Register a dataset from its contract (or, with replace, change its contract)",
)
def register_dataset(
    trust: TrustDep,
    user: UserDep,
    contract: dict[str, Any] = Body(description="A contract (see docs/contracts)"),
    replace: bool = False,
) -> Dataset:
    parsed = parse_contract(contract, "request body")
    return trust.catalogue.register_dataset(parsed, replace=replace, actor=user)


@router.get("/{member}/{name}", response_model=Dataset, summary="One dataset")
def get_dataset(member: str, name: str, trust: TrustDep, user: UserDep) -> Dataset:
    return trust.catalogue.get_dataset(f"{member}/{name}")


@router.get(
    "/{member}/{name}/contract", response_model=dict[str, Any], summary="A dataset's contract"
)
def get_contract(member: str, name: str, trust: TrustDep, user: UserDep) -> dict[str, Any]:
    return trust.catalogue.contract(f"{member}/{name}").to_dict()


@router.get(
    "/{member}/{name}/versions",
    response_model=Page[Version],
    summary="A dataset's versions, oldest first",
)
def list_versions(
    member: str, name: str, trust: TrustDep, user: UserDep, page: PageDep
) -> Page[Version]:
    return page.of(trust.catalogue.versions(f"{member}/{name}"))


@router.get("/{member}/{name}/versions/{number}", response_model=Version, summary="One version")
def get_version(member: str, name: str, number: int, trust: TrustDep, user: UserDep) -> Version:
    return trust.catalogue.version(f"{member}/{name}", number)


@router.post(
    "/{member}/{name}/versions",
    response_model=IngestResult,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a file: it is checked against the contract and becomes a new version",
    openapi_extra=_UPLOAD_BODY,
)
async def upload(
    member: str,
    name: str,
    request: Request,
    trust: TrustDep,
    user: UserDep,
    mode: Literal["replace", "upsert"] = Query("replace", description="Full replace or upsert"),
) -> IngestResult:
    ref = f"{member}/{name}"
    # The ingest service refuses whoever may not upload; asking it first (then 404) means
    # nothing is received from them.
    trust.catalogue.uploader(ref, user)
    await run_in_threadpool(trust.catalogue.get_dataset, ref)  # 404 before reading the body
    received = await receive_upload(request, trust.home, request.app.state.max_upload_bytes)
    try:
        return await run_in_threadpool(trust.ingest.ingest, ref, received.path, mode, actor=user)
    finally:
        received.discard()


@router.get(
    "/{member}/{name}/quarantine",
    response_model=QuarantinePage,
    summary="Rows that broke the contract, with their reasons (the owning member only)",
)
def quarantine(
    member: str,
    name: str,
    trust: TrustDep,
    user: UserDep,
    page: PageDep,
    version: int | None = Query(None, ge=1, description="Only this version's rows"),
) -> QuarantinePage:
    return quarantine_page(trust, f"{member}/{name}", version, page.offset, page.limit, actor=user)
