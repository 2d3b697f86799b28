"""`accord audit …`: verify, list, checkpoint, export and prove the audit log.

``checkpoint`` and ``export`` are for administrators: they take ``--as EMAIL`` and then act with
that user's roles; without it they act as the trust operator (``accord.interfaces.cli.context``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table

from accord.audit.checkpoints import read_checkpoint_file
from accord.audit.export import verify_export
from accord.audit.proofs import ConsistencyProof, InclusionProof
from accord.audit.service import LogFilter
from accord.audit.verify import VerifyReport
from accord.core.crypto.keys import load_public_key
from accord.errors import InvalidInput
from accord.interfaces.cli.context import AS_HELP, acting_user, console, err_console, open_trust

app = typer.Typer(
    help="The audit log: every change and use, hash-chained and signed.", no_args_is_help=True
)


def _show(report: VerifyReport) -> None:
    if report.ok:
        console.print(f"[bold green]✓[/] {report.summary()}", highlight=False)
        return
    err_console.print(f"[bold red]✗[/] {report.summary()}", highlight=False)
    raise typer.Exit(1)


@app.command()
def verify(
    ctx: typer.Context,
    from_checkpoint: list[Path] = typer.Option(
        [], "--from-checkpoint", help="A checkpoint file kept outside the trust; repeatable"
    ),
    export: Path = typer.Option(None, "--export", help="Verify an exported copy in this folder"),
    public_key: Path = typer.Option(
        None, "--public-key", help="The trust's public key (PEM) for --export"
    ),
) -> None:
    """Check every entry, link and signature; name the first entry that was tampered with.

    Exits with status 1 when anything is wrong.
    """
    anchors = [read_checkpoint_file(p) for p in from_checkpoint]
    if export is not None:
        _show(verify_export(export, public_key=public_key, anchors=anchors))
        return
    if public_key is not None:
        raise InvalidInput("--public-key goes with --export (a trust uses its own key)")
    with console.status("Verifying the audit log…"):
        report = open_trust(ctx).audit.verify(anchors)
    _show(report)


@app.command("log")
def log_(
    ctx: typer.Context,
    member: str = typer.Option(None, "--member", help="Only entries about this member"),
    agreement: str = typer.Option(None, "--agreement", help="Only entries about this agreement"),
    kind: str = typer.Option(None, "--kind", help="Only this kind, e.g. member.added"),
    since: datetime = typer.Option(None, "--since", help="Only entries at or after (UTC)"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000),
) -> None:
    """List entries, newest first."""
    entries = open_trust(ctx).audit.log(
        LogFilter(member=member, agreement=agreement, kind=kind, since=since, limit=limit)
    )
    table = Table("#", "when (UTC)", "actor", "kind", "member", "agreement", "details")
    for e in entries:
        details = json.dumps(e.payload, ensure_ascii=False)
        table.add_row(
            str(e.index) if e.index is not None else "—",
            f"{e.occurred_at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.kind,
            e.member or "",
            e.agreement or "",
            details if len(details) <= 80 else details[:79] + "…",
        )
    console.print(table)


@app.command()
def checkpoint(
    ctx: typer.Context,
    out: Path = typer.Option(None, "--out", help="Also write it to this file, to keep elsewhere"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; administrators only"),
) -> None:
    """Sign a checkpoint of the log now (administrators only)."""
    trust = open_trust(ctx)
    signed = trust.audit.checkpoint(actor=acting_user(trust, as_))
    console.print(
        f"Signed a checkpoint of {signed.tree_size} entries at {signed.signed_at}.\n"
        f"Merkle root: {signed.root_hash}",
        highlight=False,
    )
    if out is not None:
        signed.write(out)
        console.print(f"Written to {out}; keep it outside the trust to check the log against.")


@app.command()
def export(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="An empty folder"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; administrators only"),
) -> None:
    """Export entries, checkpoints and the public key for an outside auditor (administrators
    only; the export is recorded in the log)."""
    trust = open_trust(ctx)
    summary = trust.audit.export(folder, actor=acting_user(trust, as_))
    console.print(
        f"Exported {summary.entries} entries and {summary.checkpoints} checkpoints to "
        f"{summary.folder}. Check it with: accord audit verify --export {summary.folder} "
        "--public-key TRUST.pub",
        highlight=False,
    )


@app.command()
def prove(
    ctx: typer.Context,
    index: int = typer.Argument(..., help="The entry number (the # column of `audit log`)"),
) -> None:
    """Print an inclusion proof (JSON) that entry INDEX is in the signed log."""
    proof = open_trust(ctx).audit.prove_inclusion(index)
    typer.echo(proof.model_dump_json(indent=2))


@app.command()
def consistency(
    ctx: typer.Context,
    old_size: int = typer.Argument(..., help="Size of the earlier log"),
    new_size: int = typer.Argument(None, help="Size of the later log [default: newest checkpoint]"),
) -> None:
    """Print a consistency proof (JSON): the later log only adds entries to the earlier one."""
    proof = open_trust(ctx).audit.prove_consistency(old_size, new_size)
    typer.echo(proof.model_dump_json(indent=2))


@app.command("check-proof")
def check_proof(
    proof_file: Path = typer.Argument(..., help="A proof printed by `prove` or `consistency`"),
    public_key: Path = typer.Option(..., "--public-key", help="The trust's public key (PEM)"),
) -> None:
    """Check a proof with nothing but the trust's public key."""
    try:
        data = json.loads(proof_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the proof in {proof_file}: {exc}") from exc
    proof: InclusionProof | ConsistencyProof = (
        InclusionProof.model_validate(data)
        if "index" in data
        else ConsistencyProof.model_validate(data)
    )
    problems = proof.problems(load_public_key(public_key))
    if problems:
        err_console.print("[bold red]✗[/] The proof does not hold:", highlight=False)
        for p in problems:
            err_console.print(f"  - {p}", highlight=False)
        raise typer.Exit(1)
    console.print("[bold green]✓[/] The proof holds and its checkpoint is signed by the trust.")
