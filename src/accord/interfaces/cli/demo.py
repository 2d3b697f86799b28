"""`accord demo STORY`: play one of the three stories on a fresh trust home."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import typer
from rich.rule import Rule
from rich.table import Table

from accord.demo import STORIES, run_story
from accord.demo.runner import DEMO_MARKER
from accord.errors import InvalidInput
from accord.interfaces.cli.context import console


class RichReporter:
    def step(self, number: int, title: str) -> None:
        console.print()
        console.print(Rule(f"[bold]{number}. {title}", align="left"))

    def say(self, text: str) -> None:
        console.print(text, highlight=False)

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        table = Table(*columns, title=title, title_justify="left")
        for row in rows:
            table.add_row(*("" if v is None else str(v) for v in row))
        console.print(table)


def demo(
    ctx: typer.Context,
    story: str = typer.Argument(..., help=f"One of: {', '.join(STORIES)}"),
    people: int = typer.Option(8000, "--people", help="Size of the synthetic population"),
    seed: int = typer.Option(2020, "--seed"),
    errors: str = typer.Option("medium", "--errors", help="low, medium or high"),
    fresh: bool = typer.Option(
        True, "--fresh/--keep", help="Start from an empty home (removes a previous demo's home)"
    ),
) -> None:
    """Run a story end to end: data, agreement, linkage, queries, audit and a citizen's view."""
    if story not in STORIES:
        raise InvalidInput(f"No story {story!r}: choose from {', '.join(STORIES)}")
    root = ctx.find_root().obj
    home = Path(root.home) if root and root.home else Path(f"accord-demo-{story}")
    if fresh and home.exists():
        # Only ever remove a home that a demo made: never a real trust.
        if not (home / DEMO_MARKER).exists():
            raise InvalidInput(
                f"{home} exists and is not a demo home; choose another --home for the demo"
            )
        for folder in (home, home.parent / f"{home.name}-synthetic"):
            shutil.rmtree(folder, ignore_errors=True)
    chosen = STORIES[story]
    console.print(f"[bold]{chosen.title}[/]")
    console.print(chosen.summary, highlight=False)
    run_story(chosen, home, people=people, seed=seed, errors=errors, reporter=RichReporter())


app = demo
