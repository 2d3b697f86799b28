"""`accord citizen …`: a person's report of who used their data, their opt-out, sign-in codes."""

from __future__ import annotations

from datetime import timedelta

import typer
from rich.table import Table

from accord.audit.citizen import CitizenReport, Identifiers
from accord.interfaces.cli.context import console, open_trust, state

app = typer.Typer(
    help="The citizen's view: who used a person's records, when and why; opt-outs.",
    no_args_is_help=True,
)

NHS = typer.Option(None, "--nhs-number", help="NHS number (10 digits)")
DOB = typer.Option(..., "--date-of-birth", help="Date of birth, e.g. 1970-01-31 or 31/01/1970")
GIVEN = typer.Option(None, "--given-name", help="Given (first) name")
FAMILY = typer.Option(None, "--family-name", help="Family name (surname)")
POSTCODE = typer.Option(None, "--postcode", help="Postcode, e.g. NW1 2DB")


def _ids(
    nhs_number: str | None,
    date_of_birth: str,
    given_name: str | None,
    family_name: str | None,
    postcode: str | None,
) -> Identifiers:
    return Identifiers.parse(
        nhs_number=nhs_number,
        date_of_birth=date_of_birth,
        given_name=given_name,
        family_name=family_name,
        postcode=postcode,
    )


def _client(ctx: typer.Context) -> str:
    trust = open_trust(ctx)
    return f"cli:{state(ctx).actor or trust.actor}"


@app.command()
def report(
    ctx: typer.Context,
    nhs_number: str = NHS,
    date_of_birth: str = DOB,
    given_name: str = GIVEN,
    family_name: str = FAMILY,
    postcode: str = POSTCODE,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Every release that used a person's records (when, who, under which agreement, why, which
    fields) and every dataset holding them. Give --nhs-number and --date-of-birth, or
    --given-name, --family-name, --date-of-birth and --postcode (or all). The lookup is logged
    and limited to 5 a minute."""
    ids = _ids(nhs_number, date_of_birth, given_name, family_name, postcode)
    trust = open_trust(ctx)
    found = trust.citizen.report(ids, client=_client(ctx), channel="cli")
    if as_json:
        console.print_json(found.model_dump_json())
        return
    show(found)


def show(found: CitizenReport) -> None:
    """Print a report as tables."""
    console.print(f"[bold]{found.uses_summary}[/]", highlight=False)
    for use in found.uses:
        console.print(
            f"\n[bold]{use.made_at:%Y-%m-%d %H:%M}  {use.organisation}[/]\n"
            f"  why: {use.purpose}\n"
            f"  under: {use.agreement_title} ({use.agreement_id}); {use.purpose_kind}\n"
            f"  what left: {use.output}\n"
            f"  your details used: {', '.join(use.fields)}",
            highlight=False,
            soft_wrap=True,
        )
    console.print()
    console.print(f"[bold]{found.holdings_summary}[/]", highlight=False)
    if found.holdings:
        held = Table("organisation", "dataset", "records")
        for holding in found.holdings:
            held.add_row(
                holding.organisation, f"{holding.title} ({holding.dataset})", str(holding.records)
            )
        console.print(held)
    console.print(
        "National data opt-out: " + ("recorded." if found.opted_out else "not recorded."),
        highlight=False,
    )


@app.command("opt-out")
def opt_out(
    ctx: typer.Context,
    nhs_number: str = NHS,
    date_of_birth: str = DOB,
    given_name: str = GIVEN,
    family_name: str = FAMILY,
    postcode: str = POSTCODE,
    source: str = typer.Option("citizen view", "--source", help="Where the opt-out came from"),
) -> None:
    """Record a national data opt-out: the person is left out of later answers under agreements
    for planning or research (not individual care or support)."""
    ids = _ids(nhs_number, date_of_birth, given_name, family_name, postcode)
    open_trust(ctx).citizen.opt_out(ids, source=source, channel="cli")
    console.print(
        "Opt-out recorded. It applies to answers made from now on, under agreements for planning "
        "or research."
    )


@app.command()
def code(
    ctx: typer.Context,
    nhs_number: str = NHS,
    date_of_birth: str = DOB,
    given_name: str = GIVEN,
    family_name: str = FAMILY,
    postcode: str = POSTCODE,
    minutes: int = typer.Option(15, "--minutes", help="How long the code works (1 to 60)"),
) -> None:
    """Issue a one-time code with which the person signs in at /citizen (a stand-in for NHS
    login: give it only to someone whose identity you have checked). The person must sign in
    with exactly the details given here."""
    ids = _ids(nhs_number, date_of_birth, given_name, family_name, postcode)
    issued = open_trust(ctx).citizen.issue_code(ids, lifetime=timedelta(minutes=minutes))
    console.print(f"One-time code: [bold]{issued}[/] (works once, for {minutes} minutes)")
