"""`accord dataset …`: register contracts, ingest files, look at versions and quarantine.

``register``, ``ingest`` and ``quarantine`` take ``--as EMAIL`` and then act with that user's
roles (a data owner of the dataset's member, or an admin, may); without it they act as the trust
operator (see ``accord.interfaces.cli.context``).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.ingest.results import IngestResult
from accord.ingest.validate import quarantine_value_name
from accord.interfaces.cli.context import AS_HELP, acting_user, console, err_console, open_trust

app = typer.Typer(
    help="Datasets: contracts, ingests, versions and quarantine.", no_args_is_help=True
)

# Files smaller than this ingest in a blink; a bar would only flicker.
PROGRESS_FROM_BYTES = 20 * 1024 * 1024


@app.command("register")
def register(
    ctx: typer.Context,
    contract: Path = typer.Argument(..., help="The contract file (YAML or JSON)"),
    replace: bool = typer.Option(
        False, "--replace", help="Change the contract of an existing dataset"
    ),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Register a dataset from its contract (checked; errors name the field and the problem)."""
    trust = open_trust(ctx)
    dataset = trust.catalogue.register_dataset(
        contract, replace=replace, actor=acting_user(trust, as_)
    )
    console.print(f"Registered [bold]{dataset.ref}[/] ({dataset.title}).")


@app.command("list")
def list_(ctx: typer.Context, member: str = typer.Option(None, "--member")) -> None:
    """List datasets with their latest version and freshness."""
    table = Table("dataset", "title", "versions", "rows", "quarantined", "last ingest", "fresh")
    for d in open_trust(ctx).catalogue.list_datasets(member):
        latest = d.latest
        table.add_row(
            d.ref,
            d.title,
            str(d.version_count),
            f"{latest.row_count:,}" if latest else "-",
            f"{latest.rows_quarantined:,}" if latest else "-",
            f"{latest.created_at:%Y-%m-%d %H:%M}" if latest else "never",
            _fresh(d.fresh),
        )
    console.print(table)


@app.command("show")
def show(ctx: typer.Context, ref: str = typer.Argument(..., help="MEMBER/DATASET")) -> None:
    """Show a dataset's contract fields, versions and freshness."""
    trust = open_trust(ctx)
    dataset = trust.catalogue.get_dataset(ref)
    contract = trust.catalogue.contract(ref)
    console.print(f"[bold]{dataset.ref}[/] — {dataset.title}")
    if contract.description:
        console.print(contract.description)
    sla = f"{dataset.freshness_sla_days} days" if dataset.freshness_sla_days else "none"
    latest = dataset.latest
    last = f"{latest.created_at:%Y-%m-%d %H:%M} UTC" if latest else "never"
    console.print(
        f"Updated {contract.update_frequency}; freshness SLA {sla}; last ingest {last}; "
        f"fresh: {_fresh(dataset.fresh)}"
    )
    if contract.primary_key:
        console.print(f"Primary key: {', '.join(contract.primary_key)}")
    fields = Table("field", "type", "category", "role", "constraints", title="Fields")
    for spec in contract.fields:
        constraints = spec.constraints.model_dump(exclude_defaults=True)
        fields.add_row(
            spec.name,
            spec.type if spec.format == "default" else f"{spec.type} ({spec.format})",
            spec.category.value,
            spec.role.value if spec.role else "",
            ", ".join(f"{k}={v}" for k, v in constraints.items()),
        )
    console.print(fields)
    versions = Table(
        "version",
        "mode",
        "source",
        "read",
        "accepted",
        "quarantined",
        "rows",
        "created",
        title="Versions",
    )
    for v in trust.catalogue.versions(ref):
        versions.add_row(
            str(v.number),
            v.mode,
            v.source_name,
            f"{v.rows_read:,}",
            f"{v.rows_accepted:,}",
            f"{v.rows_quarantined:,}",
            f"{v.row_count:,}",
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(versions if versions.row_count else "No versions yet: ingest a file.")


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="MEMBER/DATASET"),
    file: Path = typer.Argument(..., help="CSV, Parquet or JSON Lines file"),
    mode: str = typer.Option("replace", "--mode", help="replace | upsert (by primary key)"),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Check a file against the dataset's contract and store its good rows as a new version."""
    trust = open_trust(ctx)
    actor = acting_user(trust, as_)
    big = file.is_file() and file.stat().st_size >= PROGRESS_FROM_BYTES
    if big and err_console.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err_console, transient=True) as bar:
            task = bar.add_task("reading", total=1.0)
            result = trust.ingest.ingest(
                ref,
                file,
                mode=mode,
                progress=lambda stage, done: bar.update(task, completed=done, description=stage),
                actor=actor,
            )
    else:
        result = trust.ingest.ingest(ref, file, mode=mode, actor=actor)
    _summary(result)


def _summary(result: IngestResult) -> None:
    console.print(
        f"Version [bold]{result.version}[/] of {result.ref} from {result.source} ({result.mode}): "
        f"{result.rows_read:,} rows read, {result.rows_accepted:,} accepted, "
        f"{result.rows_quarantined:,} quarantined; the version holds {result.row_count:,} rows."
    )
    if result.ignored_columns:
        console.print(
            "[yellow]Columns not in the contract were not stored:[/] "
            + ", ".join(result.ignored_columns)
        )
    if result.missing_columns:
        console.print(
            "[yellow]Optional fields missing from the file (left empty):[/] "
            + ", ".join(result.missing_columns)
        )
    if result.reasons:
        table = Table("field", "problem", "rows", title="Quarantine reasons")
        for r in result.reasons:
            table.add_row(r.field, r.reason, f"{r.rows:,}")
        console.print(table)
        console.print(
            f"See them with: accord dataset quarantine {result.ref} --version {result.version}"
        )


@app.command("quarantine")
def quarantine(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="MEMBER/DATASET"),
    version: int = typer.Option(None, "--version", help="Version number [default: latest]"),
    limit: int = typer.Option(50, "--limit", help="Show at most this many lines (0: all)"),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Show the rejected rows of a version and why each was rejected."""
    trust = open_trust(ctx)
    table = trust.ingest.quarantine(ref, version, actor=acting_user(trust, as_))
    lines = table.to_pylist() if limit == 0 else table.slice(0, limit).to_pylist()
    if not lines:
        console.print("No rows were quarantined.")
        return
    out = Table("row", "field", "reason", "value")
    for line in lines:
        # The value of the field at fault (all of a composite key's); the file has the whole row.
        names = [quarantine_value_name(n) for n in str(line["field"]).split("+")]
        value = " + ".join("" if line.get(n) is None else str(line.get(n)) for n in names)
        out.add_row(str(line["row_number"]), line["field"], line["reason"], value)
    console.print(out)
    if limit and table.num_rows > limit:
        console.print(f"… {table.num_rows - limit:,} more lines; use --limit 0 to see all.")


def _fresh(fresh: bool | None) -> str:
    return {None: "-", True: "yes", False: "[red]no (stale)[/]"}[fresh]
