"""Progress of long ingest steps, read from DuckDB while a statement runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb

# report(stage, fraction of the whole ingest done, 0..1)
ProgressCallback = Callable[[str, float], None]


class Progress:
    """Reports ``(stage, fraction)``; polls DuckDB's query progress in a helper thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection, report: ProgressCallback | None) -> None:
        self.con = con
        self.report = report
        if report is not None:
            # Progress is tracked only when the bar is enabled; never print DuckDB's own bar.
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")

    @contextmanager
    def stage(self, name: str, start: float, end: float) -> Iterator[None]:
        if self.report is None:
            yield
            return
        report = self.report
        report(name, start)
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.2):
                try:
                    percent = self.con.query_progress()
                except duckdb.Error:  # pragma: no cover - no statement running
                    continue
                if percent >= 0:
                    report(name, start + (end - start) * min(percent, 100.0) / 100.0)

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
        report(name, end)
