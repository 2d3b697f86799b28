"""`accord link …`: link an agreement's datasets into people, review doubtful pairs, explain.

Every command takes ``--as EMAIL`` and then acts with that user's roles (see
``accord.interfaces.cli.context``); without it, it acts as the trust operator.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from accord.errors import InvalidInput
from accord.interfaces.cli.context import AS_HELP, acting_user, console, open_trust
from accord.linkage.explain import SharedField

app = typer.Typer(
    help="Linkage: find the same person across organisations' records (Splink).",
    no_args_is_help=True,
)


@app.command("run")
def run(
    ctx: typer.Context,
    agreement: str = typer.Argument(..., help="The agreement whose datasets to link"),
    backend: str = typer.Option("duckdb", "--backend", help="duckdb (one machine) or spark"),
    dataset: list[str] = typer.Option(
        None,
        "--dataset",
        help="Link these datasets instead of the agreement's (repeatable; admins only)",
    ),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Link the datasets an active agreement covers and issue stable person keys."""
    if backend not in ("duckdb", "spark"):
        raise InvalidInput(f"--backend {backend!r}: choose duckdb or spark")
    trust = open_trust(ctx)
    actor = acting_user(trust, as_)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("Starting", total=None)

        def say(message: str) -> None:
            progress.update(task, description=message)
            progress.console.print(f"[dim]·[/] {message}", highlight=False)

        result = trust.linkage.run(
            agreement, backend=backend, datasets=dataset or None, progress=say, actor=actor
        )
    summary = result.summary
    rules = Table("blocking rule", "comparisons", "cumulative", "used", "covers", title="Blocking")
    for rule in summary.get("blocking", []):
        rules.add_row(
            rule["name"],
            f"{rule['comparisons']:,}",
            f"{rule['cumulative']:,}",
            "yes" if rule["used"] else "[red]no: would explode[/]",
            rule.get("covers", ""),
        )
    console.print(rules)
    console.print(
        f"Run {result.number} of {agreement}: {result.records:,} records, "
        f"{result.pairs:,} scored pairs, {result.clusters:,} people; "
        f"{result.keys_created:,} new keys, {result.keys_retired:,} retired; "
        f"{result.review_added:,} pairs added to the review queue (model v{result.model_version}, "
        f"trained from {summary.get('trained_from')})."
    )
    _sizes(summary.get("cluster_sizes", {}))


def _sizes(sizes: dict[str, int]) -> None:
    table = Table("records per person", "people", title="Cluster sizes")
    for size, count in sorted(sizes.items(), key=lambda item: int(item[0])):
        table.add_row(str(size), f"{count:,}")
    console.print(table)


@app.command("status")
def status(
    ctx: typer.Context,
    agreement: str = typer.Argument(...),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Model, thresholds, counts of pairs, clusters and the review queue."""
    trust = open_trust(ctx)
    found = trust.linkage.status(agreement, actor=acting_user(trust, as_))
    if found.run is None:
        console.print(f"{agreement} has not been linked yet: run `accord link run {agreement}`.")
        return
    run = found.run
    table = Table(show_header=False, title=f"Linkage of {agreement}")
    for label, value in (
        (
            "last run",
            f"{run.number} ({run.kind}, {run.backend}) at {run.finished_at:%Y-%m-%d %H:%M}",
        ),
        ("agreement version", str(run.agreement_version or "-")),
        ("model", f"v{found.model_version} ({found.model_path})"),
        ("datasets", ", ".join(run.datasets)),
        ("identifier roles", ", ".join(run.roles)),
        ("link threshold", f"match probability >= {run.link_threshold:.3f}"),
        ("review band", f"{run.review_floor} <= p < {run.link_threshold:.3f}"),
        ("records", f"{run.records:,}"),
        ("scored pairs", f"{run.pairs:,}"),
        ("people (clusters)", f"{run.clusters:,}"),
        ("person keys in use", f"{found.person_keys:,}"),
        ("review queue", f"{found.review_open:,} open, {found.review_decided:,} decided"),
    ):
        table.add_row(label, value)
    console.print(table)
    _sizes(run.summary.get("cluster_sizes", {}))


@app.command("review")
def review(
    ctx: typer.Context,
    agreement: str = typer.Argument(...),
    accept: tuple[str, str] | None = typer.Option(
        None, "--accept", help="RECORD_A RECORD_B: same person"
    ),
    reject: tuple[str, str] | None = typer.Option(
        None, "--reject", help="RECORD_A RECORD_B: two people"
    ),
    all_: bool = typer.Option(False, "--all", help="Also list decided pairs"),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List the review queue, or accept/reject a pair (records as MEMBER/DATASET:KEY)."""
    if accept and reject:
        raise InvalidInput("Give either --accept or --reject, not both")
    trust = open_trust(ctx)
    actor = acting_user(trust, as_)
    pair = accept or reject
    if pair:
        a, b = pair
        item = trust.linkage.decide(agreement, a, b, accept=bool(accept), actor=actor)
        console.print(
            f"{item.status.capitalize()}: {item.record_a} and {item.record_b}. "
            "Clusters and person keys were updated; the next training uses it."
        )
        return
    items = trust.linkage.review_queue(agreement, include_decided=all_, actor=actor)
    table = Table(
        "id",
        "record A",
        "record B",
        "match probability",
        "status",
        "reviewer",
        title=f"Review queue of {agreement}",
    )
    for item in items:
        p = "-" if item.match_probability is None else f"{item.match_probability:.3f}"
        table.add_row(
            str(item.id), item.record_a, item.record_b, p, item.status, item.reviewer or ""
        )
    console.print(table)
    console.print(f"{len(items)} pair(s). Explain one with `accord link explain {agreement} A B`.")


@app.command("explain")
def explain(
    ctx: typer.Context,
    agreement: str = typer.Argument(...),
    record_a: str = typer.Argument(..., help="MEMBER/DATASET:KEY"),
    record_b: str = typer.Argument(..., help="MEMBER/DATASET:KEY"),
    as_json: bool = typer.Option(False, "--json", help="Print the waterfall data as JSON"),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Show the two records' shared fields side by side, and what each comparison contributed
    to the pair's match weight."""
    trust = open_trust(ctx)
    found = trust.linkage.explain(agreement, record_a, record_b, actor=acting_user(trust, as_))
    if as_json:
        console.print_json(json.dumps(found.as_dicts()))
        return
    records = Table("field", record_a, record_b, title="The two records (fields shared)")
    for line in found.side_by_side():
        records.add_row(line.label, _values(line.left), _values(line.right))
    for record in found.records:
        if not record.found:
            console.print(
                f"{record.record} is no longer in its dataset, or no longer shared under "
                f"{agreement}: its fields are not shown."
            )
    console.print(records)
    table = Table(
        "comparison",
        "level",
        "A",
        "B",
        "weight (bits)",
        "running total",
        title=f"{record_a}  vs  {record_b}",
    )
    for row in found.rows:
        if row.term_frequency_adjustment and row.weight == 0:
            continue
        colour = "green" if row.weight > 0 else "red" if row.weight < 0 else "dim"
        table.add_row(
            row.comparison,
            row.level,
            row.value_left,
            row.value_right,
            f"[{colour}]{row.weight:+.2f}[/]",
            f"{row.cumulative:+.2f}",
        )
    console.print(table)
    console.print(
        f"Match weight {found.match_weight:+.2f} bits: "
        f"match probability {found.match_probability:.4f}."
    )


@app.command("export")
def export(
    ctx: typer.Context,
    agreement: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", help="Parquet file to write"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; administrators only"),
) -> None:
    """Administrators only, and logged: one row per record with its person key."""
    trust = open_trust(ctx)
    rows = trust.linkage.export(agreement, out, actor=acting_user(trust, as_))
    console.print(f"Wrote {rows:,} rows to {out}. The export is recorded in the audit log.")


def _values(fields: list[SharedField]) -> str:
    """A record's fields holding one thing ("postcode: N1 1AA"), or "-" when it has none."""
    if not fields:
        return "-"
    return "\n".join(f"{f.name}: {f.value if f.value is not None else '(missing)'}" for f in fields)
