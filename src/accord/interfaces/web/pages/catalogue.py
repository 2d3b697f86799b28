"""The catalogue, a dataset's page (versions and quarantine) and the upload page.

The catalogue and ingest services decide who may upload and see the quarantine; the pages pass
the signed-in user, ask the service what to offer, and show its refusal when it refuses.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup, escape

from accord.errors import AccordError, InvalidInput, NotFound
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.tables import quarantine_page
from accord.interfaces.uploads import receive_upload
from accord.interfaces.web import charts
from accord.interfaces.web.session import WebUser, check_csrf
from accord.interfaces.web.templating import render

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
    may_upload = trust.catalogue.may_look_after(member, actor=user)
    quarantine = None
    if may_upload and versions:
        try:
            quarantine = quarantine_page(trust, ref, None, 0, QUARANTINE_ROWS_SHOWN, actor=user)
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
            "may_upload": may_upload,
            "flash": request.session.pop("flash", None),
            "quarantine_chart": charts.quarantine_rate(versions),
        },
    )


@router.get("/datasets/{member}/{name}/upload")
def upload_page(
    request: Request, member: str, name: str, trust: TrustDep, user: WebUser
) -> Response:
    trust.catalogue.uploader(f"{member}/{name}", user)  # refused here, not after a long upload
    dataset = trust.catalogue.get_dataset(f"{member}/{name}")
    return render(request, "upload.html", {"title": f"Upload {dataset.title}", "dataset": dataset})


@router.post("/datasets/{member}/{name}/upload")
async def upload_submit(
    request: Request, member: str, name: str, trust: TrustDep, user: WebUser
) -> Response:
    ref = f"{member}/{name}"
    trust.catalogue.uploader(ref, user)  # before the file is received
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
            result = await run_in_threadpool(
                trust.ingest.ingest, ref, received.path, mode, actor=user
            )
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
