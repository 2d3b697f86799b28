"""Shared state of one CLI invocation: which home, which actor, and the open trust.

Who acts: a command given ``--as EMAIL`` acts as that user of the trust, with that user's roles,
and is refused what they may not do. Without ``--as`` the command acts as the trust operator
(``trust.operator``): the person at this machine holds the trust's home, its keys and database,
so nothing a role check refuses is out of their reach, and the log records them as
``operator:LOGIN`` (or ``operator:`` and the ``--actor`` given) rather than as anyone else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from rich.console import Console

from accord.catalogue.models import User
from accord.errors import NotFound, PermissionDenied
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


AS_HELP = "Act as this user of the trust (e-mail), with their roles [default: the trust operator]"


def acting_user(trust: Trust, email: str | None) -> User:
    """The user named by ``--as`` (an active user of the trust), or the trust operator."""
    if not email:
        return trust.operator
    try:
        user = trust.catalogue.get_user(email)
    except NotFound as exc:
        raise PermissionDenied(f"--as {email}: there is no such user in this trust") from exc
    if not user.active:
        raise PermissionDenied(f"--as {email}: this user is deactivated")
    return user
