"""Shared state of one CLI invocation: which home, which actor, and the open trust."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from accord.trust import Trust

console = Console()
err_console = Console(stderr=True)


@dataclass
class CliState:
    home: Path | None = None
    actor: str | None = None
    _trust: Trust | None = field(default=None, repr=False)

    def trust(self) -> Trust:
        if self._trust is None:
            self._trust = Trust.open(self.home, actor=self.actor)
        return self._trust


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = CliState()
    return root.obj


def open_trust(ctx: typer.Context) -> Trust:
    return state(ctx).trust()
