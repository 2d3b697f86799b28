"""`accord synth`: make the synthetic population used by demos, tests and benchmarks."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from accord.synth import generate_population

app = typer.Typer(
    help="Make a synthetic population and each organisation's extract of it.",
    no_args_is_help=True,
)


class Profile(StrEnum):
    none = "none"
    low = "low"
    medium = "medium"
    high = "high"


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


@app.callback()
def _synth() -> None:
    """Make a synthetic population and each organisation's extract of it."""


@app.command()
def population(
    people: int = typer.Option(..., "--people", min=1, help="How many people to make."),
    seed: int = typer.Option(
        ..., "--seed", help="Random seed: the same seed gives the same files."
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write into."),
    errors: Profile = typer.Option(Profile.medium, "--errors", help="Error profile."),
    fmt: Format = typer.Option(Format.parquet, "--format", help="File format of the extracts."),
) -> None:
    """Write people, extracts, contracts and ground truth under OUT, then summarise them."""
    summary = generate_population(people, seed, out, errors=errors.value, fmt=fmt.value)
    table = Table(title=f"{people:,} people, seed {seed}, errors {errors.value}")
    table.add_column("extract")
    table.add_column("rows", justify="right")
    table.add_column("errors injected", justify="right")
    for ref, extract in summary.extracts.items():
        table.add_row(ref, f"{extract.rows:,}", f"{extract.errors_injected:,}")
    console = Console()
    console.print(table)
    console.print(f"Written to {summary.out} (truth: {summary.people_path.name}, manifest.json)")
