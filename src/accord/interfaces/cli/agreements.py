"""`accord agreement …`: write, check, propose, sign, show and revoke data-sharing agreements."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from accord.agreements.describe import STATE_WORDS, humanise, plain_english, status_lines
from accord.agreements.lint import Severity
from accord.agreements.model import load_agreement
from accord.agreements.signing import read_detached, sign_file, write_detached
from accord.agreements.templates import render_template, template_names
from accord.errors import InvalidInput
from accord.interfaces.cli.context import AS_HELP, acting_user, console, open_trust

app = typer.Typer(
    help="Data-sharing agreements: templates, IG checks, signatures and lifecycle.",
    no_args_is_help=True,
)


def _sets(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidInput(f"--set {item!r}: write KEY=VALUE, e.g. --set retention_days=180")
        out[key.strip()] = value.strip()
    return out


@app.command("new")
def new(
    template: str = typer.Option(..., "--template", help=f"One of: {', '.join(template_names())}"),
    out: Path = typer.Option(..., "--out", help="Where to write the agreement file"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE, e.g. --set retention_days=180"),
) -> None:
    """Write a filled-in starting point from a template, with comments explaining each choice."""
    if out.exists():
        raise InvalidInput(f"{out} already exists; choose another --out or remove it first")
    text = render_template(template, _sets(set_))
    out.write_text(text, encoding="utf-8")
    console.print(f"Wrote a new agreement from the {template!r} template to {out}.")
    console.print(f"Next: read it, change what you need, then run `accord agreement lint {out}`.")


@app.command("lint")
def lint_cmd(ctx: typer.Context, file: Path = typer.Argument(..., help="Agreement file")) -> None:
    """Run the information-governance checks and explain each finding."""
    report = open_trust(ctx).agreements.lint(file)
    if not report.findings:
        console.print(f"{file}: no problems found. It can be proposed and signed.")
        return
    for finding in report.findings:
        label = "[bold red]ERROR[/]" if finding.severity is Severity.error else "[yellow]warning[/]"
        console.print(f"{label} {finding.message} [dim]({finding.rule})[/]", highlight=False)
    console.print(
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s). "
        + (
            "Errors must be fixed before anyone can sign."
            if report.errors
            else "Nothing blocks signing."
        )
    )
    if report.errors:
        raise typer.Exit(1)


@app.command("propose")
def propose(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Agreement file"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; an ig-lead or admin may propose"),
) -> None:
    """Store the agreement as a draft version for the controllers to sign."""
    trust = open_trust(ctx)
    model = load_agreement(file)
    info = trust.agreements.propose(model, actor=acting_user(trust, as_))
    if not info.created:
        console.print(
            f"{model.id} version {info.version} already holds exactly this text; nothing changed."
        )
        return
    console.print(f"Proposed {model.id} as version {info.version}.")
    console.print(f"Fingerprint (sha256) of the text to sign: {info.sha256}")
    console.print(f"Waiting for signatures from: {', '.join(model.controllers)}.")
    report = trust.agreements.lint(model)
    if report.errors:
        console.print(
            f"It cannot be signed yet: {len(report.errors)} problem(s); "
            "see `accord agreement lint`."
        )


@app.command("sign")
def sign(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="Agreement ID (or, with --key, an agreement FILE)"),
    as_: str = typer.Option(None, "--as", help="E-mail of the ig-lead who signs"),
    signature: Path = typer.Option(None, "--signature", help="A detached signature file to upload"),
    key: Path = typer.Option(
        None, "--key", help="Sign FILE with this private key, outside the trust"
    ),
    out: Path = typer.Option(
        None, "--out", help="Where to write the detached signature (with --key)"
    ),
) -> None:
    """Sign an agreement: in the trust (--as), or outside it with your own key (--key --out)."""
    if key is not None:
        if out is None:
            raise InvalidInput("With --key, give --out for the signature file")
        model = load_agreement(Path(target))
        detached = sign_file(model, key)
        write_detached(detached, out)
        console.print(f"Signed {model.id} (sha256 {detached.sha256}) with the key in {key}.")
        console.print(
            f"Signature written to {out}. Upload it with: accord agreement sign {model.id} "
            f"--signature {out} --as YOUR-EMAIL"
        )
        return
    if not as_:
        raise InvalidInput("Say who signs: --as EMAIL (an ig-lead of a controller)")
    trust = open_trust(ctx)
    detached = read_detached(signature) if signature is not None else None
    info = trust.agreements.sign(target, as_, detached)
    status = trust.agreements.status(target)
    console.print(
        f"{info.signer} signed {target} version {status.latest_version} for {info.member}."
    )
    if status.missing_signatures:
        console.print(f"Still waiting for: {', '.join(status.missing_signatures)}.")
    else:
        console.print(f"Every controller has signed. Status: {STATE_WORDS[status.state]}.")
        if status.time_to_active is not None:
            console.print(f"From proposal to active: {humanise(status.time_to_active)}.")


@app.command("show")
def show(
    ctx: typer.Context,
    agreement_id: str = typer.Argument(...),
    version: int = typer.Option(None, "--version", help="Show an older version"),
) -> None:
    """The agreement in plain English, its signatures and how long it took to become active."""
    trust = open_trust(ctx)
    trust.agreements.refresh()
    model = trust.agreements.get(agreement_id, version)
    for line in plain_english(model):
        console.print(line, highlight=False)
    console.print()
    for line in status_lines(trust.agreements.status(agreement_id)):
        console.print(line, highlight=False)


@app.command("list")
def list_cmd(ctx: typer.Context) -> None:
    """Every agreement and where it stands."""
    trust = open_trust(ctx)
    trust.agreements.refresh()
    statuses = trust.agreements.list()
    if not statuses:
        console.print(
            "No agreements yet. Start one with: accord agreement new --template fsm --out fsm.yaml"
        )
        return
    for s in statuses:
        waiting = f"; waiting for {', '.join(s.missing_signatures)}" if s.missing_signatures else ""
        console.print(
            f"{s.id} (version {s.latest_version}): {STATE_WORDS[s.state]}{waiting} — {s.title}",
            highlight=False,
        )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    agreement_id: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why it is revoked (recorded in the log)"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; an ig-lead of a controller or admin"),
) -> None:
    """Revoke an agreement: from now on it grants no access."""
    trust = open_trust(ctx)
    trust.agreements.revoke(agreement_id, reason, actor=acting_user(trust, as_))
    console.print(f"Revoked {agreement_id}. Nobody can query under it any more.")


@app.command("history")
def history(ctx: typer.Context, agreement_id: str = typer.Argument(...)) -> None:
    """Everything recorded about an agreement, oldest first."""
    for entry in open_trust(ctx).agreements.history(agreement_id):
        console.print(
            f"{entry.occurred_at:%Y-%m-%d %H:%M:%S} {entry.summary} [dim]({entry.actor})[/]",
            highlight=False,
        )


@app.command("export-odrl")
def export_odrl(
    ctx: typer.Context,
    agreement_id: str = typer.Argument(...),
    version: int = typer.Option(None, "--version"),
    out: Path = typer.Option(None, "--out", help="Write to a file instead of the screen"),
) -> None:
    """Export the agreement as W3C ODRL JSON-LD."""
    doc = open_trust(ctx).agreements.export_odrl(agreement_id, version)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"Wrote the ODRL policy of {agreement_id} to {out}.")
    else:
        typer.echo(text)
