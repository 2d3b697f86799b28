"""`accord query --as USER --agreement ID --purpose CODE "SQL"` — one command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from accord.interfaces.cli.context import console, err_console, open_trust


def app(
    ctx: typer.Context,
    sql: str = typer.Argument(..., help='The question, e.g. "SELECT ... FROM camden.pupils"'),
    as_user: str = typer.Option(..., "--as", help="The user asking (e-mail)"),
    agreement: str = typer.Option(..., "--agreement", help="The agreement to ask under"),
    purpose: str = typer.Option(..., "--purpose", help="The purpose code, e.g. fsm-support"),
    out: Path = typer.Option(None, "--out", help="Write the answer to FILE.csv or FILE.parquet"),
    totals: bool = typer.Option(False, "--totals", help="Add totals to an aggregate answer"),
) -> None:
    """Ask a question under an agreement; only what the agreement permits comes back."""
    release = open_trust(ctx).queries.ask(as_user, agreement, purpose, sql, totals=totals)
    if out is not None:
        release.write(out)
        console.print(f"Wrote {release.rows_out} rows to {out}.")
    else:
        table = Table(*release.table.column_names)
        for row in release.table.to_pylist()[:200]:
            table.add_row(*("" if v is None else str(v) for v in row.values()))
        console.print(table)
        if release.rows_out > 200:
            console.print(f"… {release.rows_out - 200} more rows: use --out to get them all.")
    err_console.print(
        f"Release {release.id}: {release.output}, {release.rows_out} rows, "
        f"under {release.agreement} v{release.agreement_version} for {release.purpose}.",
        highlight=False,
    )
    for change in release.changes:
        if change.action != "rounded":
            err_console.print(f"  {change.describe()}", highlight=False)
    rounded = sum(1 for c in release.changes if c.action == "rounded")
    if rounded:
        err_console.print(f"  {rounded} counts rounded to the nearest 5.", highlight=False)
