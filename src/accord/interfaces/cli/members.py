"""`accord member …` and `accord user …`.

The commands that add, or list another member's, people take ``--as EMAIL`` and then act with
that user's roles (see ``accord.interfaces.cli.context``); without it they act as the trust
operator.
"""

from __future__ import annotations

import typer
from rich.table import Table

from accord.catalogue.models import ROLES
from accord.interfaces.cli.context import AS_HELP, acting_user, console, open_trust

members_app = typer.Typer(help="Organisations that take part in the trust.", no_args_is_help=True)
users_app = typer.Typer(help="People acting for a member, with their roles.", no_args_is_help=True)


@members_app.command("add")
def member_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Short name, e.g. camden"),
    title: str = typer.Option(..., "--title", help='Full name, e.g. "London Borough of Camden"'),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; administrators only"),
) -> None:
    """Add a member and generate its signing key pair."""
    trust = open_trust(ctx)
    member = trust.catalogue.add_member(name, title, actor=acting_user(trust, as_))
    key_path = trust.catalogue.member_key_path(name)
    console.print(f"Added member [bold]{member.name}[/] ({member.title}).")
    console.print(f"Public key: {member.public_key}")
    console.print(f"Private signing key written to {key_path} (readable by its owner only).")


@members_app.command("list")
def member_list(ctx: typer.Context) -> None:
    """List the members."""
    table = Table("name", "title", "public key", "joined")
    for m in open_trust(ctx).catalogue.list_members():
        table.add_row(m.name, m.title, m.public_key, f"{m.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@users_app.command("add")
def user_add(
    ctx: typer.Context,
    email: str = typer.Argument(...),
    member: str = typer.Option(..., "--member", help="The member this person acts for"),
    role: list[str] = typer.Option(..., "--role", help=f"One of {', '.join(ROLES)}; repeatable"),
    as_: str = typer.Option(None, "--as", help=AS_HELP + "; administrators only"),
) -> None:
    """Add a user; their API token is printed once and only its hash is kept."""
    trust = open_trust(ctx)
    user, token = trust.catalogue.add_user(email, member, role, actor=acting_user(trust, as_))
    console.print(f"Added {user.email} for {user.member} as {', '.join(user.roles)}.")
    console.print("API token (shown once, keep it safe):")
    console.print(token, soft_wrap=True, highlight=False)


@users_app.command("list")
def user_list(
    ctx: typer.Context,
    member: str = typer.Option(None, "--member"),
    as_: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List users (an admin sees every member's, anyone else their own member's)."""
    trust = open_trust(ctx)
    table = Table("email", "member", "roles", "active")
    for u in trust.catalogue.list_users(member, actor=acting_user(trust, as_)):
        table.add_row(u.email, u.member, ", ".join(u.roles), "yes" if u.active else "no")
    console.print(table)
