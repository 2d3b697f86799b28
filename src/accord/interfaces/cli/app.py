"""The `accord` command: one Typer app that mounts a sub-app per concern.

Errors are turned into a clear message in one place (:func:`main`).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from accord.errors import AccordError
from accord.interfaces.cli.context import console, err_console, state
from accord.interfaces.cli.members import members_app, users_app
from accord.trust import Trust

app = typer.Typer(
    help="Accord: a data trust for the public sector.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(members_app, name="member")
app.add_typer(users_app, name="user")

# Sub-apps of capabilities: "module:attribute" mounted under a name. A missing module means the
# capability is not part of this build, and its commands are simply absent.
SUB_APPS: dict[str, str] = {
    "dataset": "accord.interfaces.cli.datasets:app",
    "synth": "accord.interfaces.cli.synth:app",
    "agreement": "accord.interfaces.cli.agreements:app",
    "link": "accord.interfaces.cli.linkage:app",
    "query": "accord.interfaces.cli.query:app",
    "audit": "accord.interfaces.cli.audit:app",
    "citizen": "accord.interfaces.cli.citizen:app",
    "demo": "accord.interfaces.cli.demo:app",
    "serve": "accord.interfaces.cli.serve:app",
}


def _mount() -> None:
    for name, target in SUB_APPS.items():
        module_name, _, attribute = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        sub = getattr(module, attribute)
        if isinstance(sub, typer.Typer):
            app.add_typer(sub, name=name)
        else:  # a single command
            app.command(name)(sub)


@app.callback()
def _root(
    ctx: typer.Context,
    home: Path = typer.Option(
        None,
        "--home",
        envvar="ACCORD_HOME",
        help="The trust's home folder [default: ./accord-home]",
    ),
    actor: str = typer.Option(
        None, "--actor", envvar="ACCORD_ACTOR", help="Who is acting, recorded on every event"
    ),
) -> None:
    s = state(ctx)
    s.home, s.actor = home, actor


@app.command()
def init(ctx: typer.Context) -> None:
    """Create a new trust home: metadata database, signing key and pseudonymisation secret."""
    s = state(ctx)
    trust = Trust.init(s.home, actor=s.actor)
    console.print(f"Created a trust in [bold]{trust.home}[/].")
    console.print(f"Trust public key: {trust.signing_key.public_text()}")


_mount()


def main() -> None:
    try:
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except AccordError as exc:
        err_console.print(f"[bold red]Error:[/] {exc.message}", highlight=False)
        for detail in exc.details:
            err_console.print(f"  - {detail}", highlight=False)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("Aborted.")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
