"""The `accord` command line (Typer)."""
