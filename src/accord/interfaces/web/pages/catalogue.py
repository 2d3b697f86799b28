"""The catalogue, a dataset's page (versions and quarantine) and the upload page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from accord.errors import AccordError, InvalidInput, NotFound
from accord.interfaces.api.deps import TrustDep, acting_as
from accord.interfaces.tables import quarantine_page
from accord.interfaces.uploads import receive_upload
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render
from accord.policy.roles import manage_data, may_manage_data

router = APIRouter()

QUARANTINE_ROWS_SHOWN = 50


@router.get("/")
def catalogue_page(request: Request, trust: TrustDep, user: WebUser) -> Response:
    datasets = trust.catalogue.list_datasets()
    return render(
        request,
        "catalogue.html",
        {
            "title": "Catalogue",
            "datasets": datasets,
            "freshness_chart": charts.freshness(datasets),
        },
    )


@router.get("/datasets/{member}/{name}")
def dataset_page(
    request: Request, member: str, name: str, trust: TrustDep, user: WebUser
) -> Response:
    ref = f"{member}/{name}"
    dataset = trust.catalogue.get_dataset(ref)
    versions = trust.catalogue.versions(ref)
    contract = trust.catalogue.contract(ref)
    quarantine = None
    if may_manage_data(user, member) and versions:
        try:
            quarantine = quarantine_page(trust, ref, None, 0, QUARANTINE_ROWS_SHOWN)
        except NotFound:
            quarantine = None  # a version made before quarantine files were kept
    return render(
        request,
        "dataset.html",
        {
            "title": dataset.title,
            "dataset": dataset,
            "ref": ref,
            "versions": list(reversed(versions)),
            "contract": contract,
            "quarantine": quarantine,
            "may_upload": may_manage_data(user, member),
            "flash": request.session.pop("flash", None),
            "quarantine_chart": charts.quarantine_rate(versions),
        },
    )


@router.get("/datasets/{member}/{name}/upload")
def upload_page(
    request: Request, member: str, name: str, trust: TrustDep, user: WebUser
) -> Response:
    manage_data(user, member, "upload data")
    dataset = trust.catalogue.get_dataset(f"{member}/{name}")
    return render(request, "upload.html", {"title": f"Upload {dataset.title}", "dataset": dataset})


@router.post("/datasets/{member}/{name}/upload")
async def upload_submit(
    request: Request, member: str, name: str, trust: TrustDep, user: WebUser
) -> Response:
    manage_data(user, member, "upload data")
    ref = f"{member}/{name}"
    dataset = await run_in_threadpool(trust.catalogue.get_dataset, ref)
    error: str | None = None
    try:
        received = await receive_upload(request, trust.home, request.app.state.max_upload_bytes)
    except InvalidInput as exc:
        # An empty form cannot carry the CSRF token we check below; nothing was stored anyway.
        error = exc.message
    else:
        try:
            check_csrf(request, received.fields.get("csrf"))
            mode = received.fields.get("mode", "replace")
            if mode not in ("replace", "upsert"):
                raise InvalidInput("Choose whether the file replaces the data or updates it")
            acting = acting_as(request, trust, user.email)
            result = await run_in_threadpool(acting.ingest.ingest, ref, received.path, mode)
        except AccordError as exc:
            if exc.status in (401, 403):
                raise
            error = exc.message + "".join(f" {d}" for d in exc.details[:3])
        finally:
            received.discard()
    if error:
        return render(
            request,
            "upload.html",
            {
                "title": f"Upload {dataset.title}",
                "dataset": dataset,
                "file_error": error,
                "form_errors": [{"text": error, "href": "#file"}],
            },
            status=422,
        )
    summary = (
        f"Version {result.version}: {result.rows_accepted:,} rows accepted, "
        f"{result.rows_quarantined:,} quarantined of {result.rows_read:,} read."
    )
    request.session["flash"] = {"success": True, "html": str(_flash(summary))}
    return RedirectResponse(f"/datasets/{member}/{name}", status_code=303)


def _flash(text: str) -> Markup:
    return Markup('<p class="govuk-notification-banner__heading">{}</p>').format(escape(text))
