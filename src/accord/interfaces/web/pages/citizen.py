"""The citizen's page: sign in with a one-time code, see who used your records, opt out.

A citizen is not a staff user: they have their own sign-in (for this demonstration a one-time
code from `accord citizen code`, standing in for NHS login) and see only the report about the
person the code was issued for. Every page view is a logged, rate-limited lookup.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from accord.audit.citizen import Identifiers, TooManyLookups
from accord.errors import InvalidInput, NotAuthenticated
from accord.interfaces.api.deps import TrustDep
from accord.interfaces.web.session import check_csrf
from accord.interfaces.web.templating import render

router = APIRouter()
SESSION_KEY = "citizen"
FIELDS = ("nhs_number", "given_name", "family_name", "postcode", "code")


def _client(request: Request) -> str:
    return f"web:{request.client.host if request.client else 'unknown'}"


def _sign_in_page(
    request: Request, values: dict[str, str], errors: list[str], status: int = 200
) -> Response:
    return render(
        request,
        "citizen_sign_in.html",
        {
            "title": "See who has used your records",
            "values": values,
            "form_errors": [{"text": e, "href": "#nhs_number"} for e in errors],
        },
        status=status,
    )


@router.get("/citizen")
def citizen_page(request: Request, trust: TrustDep) -> Response:
    token = request.session.get(SESSION_KEY)
    if not token:
        return _sign_in_page(request, {}, [])
    try:
        ids = trust.citizen.identifiers(token)
    except NotAuthenticated as exc:
        request.session.pop(SESSION_KEY, None)
        return _sign_in_page(request, {}, [exc.message], status=401)
    report = trust.citizen.report(ids, client=_client(request), channel="web")
    flash = request.session.pop("citizen_flash", None)
    return render(
        request,
        "citizen.html",
        {
            "title": "Who has used your records",
            "report": report,
            "flash": {"success": True, "html": flash} if flash else None,
        },
    )


@router.post("/citizen/sign-in")
async def citizen_sign_in(request: Request, trust: TrustDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    values = {name: str(form.get(name) or "").strip() for name in FIELDS}
    values |= {p: str(form.get(f"dob-{p}") or "").strip() for p in ("day", "month", "year")}
    dob = _date_text(values)
    try:
        ids = Identifiers.parse(**{k: values[k] for k in FIELDS[:4]}, date_of_birth=dob)
        token = trust.citizen.sign_in(ids, values["code"], client=_client(request), channel="web")
    except InvalidInput as exc:
        return _sign_in_page(request, values, exc.details or [exc.message], status=400)
    except (NotAuthenticated, TooManyLookups) as exc:
        return _sign_in_page(request, values, [exc.message], status=exc.status)
    csrf = request.session.get("csrf")
    request.session.clear()  # a staff session in the same browser ends here
    request.session.update({SESSION_KEY: token, "csrf": csrf})
    return RedirectResponse("/citizen", status_code=303)


@router.post("/citizen/opt-out")
async def citizen_opt_out(request: Request, trust: TrustDep) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    token = request.session.get(SESSION_KEY)
    if not token:
        return RedirectResponse("/citizen", status_code=303)
    trust.citizen.opt_out(trust.citizen.identifiers(token), source="citizen view", channel="web")
    request.session["citizen_flash"] = (
        "Your national data opt-out is recorded. From now on, your records are left out of "
        "answers for planning and research. Answers for your own care or support still use them."
    )
    return RedirectResponse("/citizen", status_code=303)


@router.post("/citizen/sign-out")
async def citizen_sign_out(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf") or ""))
    request.session.pop(SESSION_KEY, None)
    return RedirectResponse("/citizen", status_code=303)


def _date_text(values: dict[str, Any]) -> str:
    day, month, year = values["day"], values["month"], values["year"]
    if not (day and month and year):
        return ""
    return f"{year.zfill(4)}-{month.zfill(2)}-{day.zfill(2)}"
