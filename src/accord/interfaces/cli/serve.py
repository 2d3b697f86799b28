"""``accord serve``: run the API and web pages under uvicorn."""

from __future__ import annotations

import typer

from accord.interfaces.cli.context import console, open_trust


def app(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8000, "--port", help="Port to listen on"),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error"),
) -> None:
    """Serve the trust: the REST API under /api/v1 and the web pages, with JSON logs."""
    import uvicorn

    from accord.interfaces.api.app import create_app
    from accord.interfaces.api.logs import log_config

    trust = open_trust(ctx)
    console.print(f"Serving the trust in {trust.home} on http://{host}:{port}/", highlight=False)
    uvicorn.run(
        create_app(trust),
        host=host,
        port=port,
        log_config=log_config(log_level),
        access_log=False,
        proxy_headers=False,
    )
