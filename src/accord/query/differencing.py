"""The differencing check: two overlapping aggregates must not isolate a small group.

If a recipient was told that 57 pupils in a borough get free school meals and then asks the
same count for pupils aged over 5, the difference may single out a handful of people. So every
released aggregate cell is remembered per agreement and recipient (how many people it covered,
and — in the release's Parquet — who). A later cell whose people are a subset or a superset of
an earlier released cell's, differing by fewer than the minimum cell size, is suppressed, with
the earlier release named as the reason. Only pairs whose sizes differ by fewer than the
threshold are compared person by person, so the check stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.query.models_db import AggregateCellRow, ReleaseRow

if TYPE_CHECKING:
    from accord.trust import Trust


def differencing_reasons(
    trust: Trust,
    agreement: str,
    member: str,
    contributors: pa.Table,
    people: dict[int, int],
    threshold: int,
) -> dict[int, str]:
    """Cells (index → reason) of a new answer that earlier released cells would expose."""
    with trust.store.sessions() as session:
        earlier = list(
            session.execute(
                select(
                    AggregateCellRow.release_id,
                    AggregateCellRow.cell,
                    AggregateCellRow.people,
                    ReleaseRow.contributors_path,
                )
                .join(ReleaseRow, ReleaseRow.id == AggregateCellRow.release_id)
                .where(
                    AggregateCellRow.agreement == agreement,
                    AggregateCellRow.member == member,
                    AggregateCellRow.released.is_(True),
                )
            )
        )
    pairs = [
        (cell, release_id, old_cell, abs(n - old_n))
        for cell, n in people.items()
        if n >= threshold
        for release_id, old_cell, old_n, _path in earlier
        if 0 < abs(n - old_n) < threshold
    ]
    if not pairs:
        return {}
    paths = {release_id: trust.home / path for release_id, _c, _n, path in earlier}
    wanted = sorted({p[1] for p in pairs})
    connection = duckdb.connect(":memory:")
    try:
        connection.register("new_cells", contributors.select(["cell", "dataset", "record_key"]))
        connection.register(
            "pairs",
            pa.table(
                {
                    "new_cell": [p[0] for p in pairs],
                    "rid": [p[1] for p in pairs],
                    "old_cell": [p[2] for p in pairs],
                    "gap": [p[3] for p in pairs],
                }
            ),
        )
        old = " UNION ALL ".join(
            f"SELECT {_lit(rid)} AS rid, cell, dataset, record_key "
            f"FROM read_parquet({_lit(str(paths[rid]))})"
            for rid in wanted
        )
        found = connection.sql(
            f"""
            WITH old_cells AS ({old}),
            new_size AS (SELECT cell, count(*) AS s FROM new_cells GROUP BY cell),
            old_size AS (SELECT rid, cell, count(*) AS s FROM old_cells GROUP BY rid, cell),
            shared AS (
                SELECT n.cell AS new_cell, o.rid, o.cell AS old_cell, count(*) AS c
                FROM new_cells n
                JOIN old_cells o ON o.dataset = n.dataset AND o.record_key = n.record_key
                GROUP BY ALL
            )
            SELECT p.new_cell, p.rid, p.old_cell, p.gap
            FROM pairs p
            JOIN shared s ON s.new_cell = p.new_cell AND s.rid = p.rid AND s.old_cell = p.old_cell
            JOIN new_size ns ON ns.cell = p.new_cell
            JOIN old_size os ON os.rid = p.rid AND os.cell = p.old_cell
            WHERE s.c = ns.s OR s.c = os.s
            ORDER BY 1, 2, 3
            """
        ).fetchall()
    finally:
        connection.close()
    reasons: dict[int, str] = {}
    for new_cell, rid, old_cell, gap in found:
        reasons.setdefault(
            new_cell,
            f"with cell {old_cell + 1} of release {rid} it would single out {gap} people "
            f"(fewer than {threshold})",
        )
    return reasons


def record_cells(
    session: Session, release_id: str, agreement: str, member: str, people: dict[int, int]
) -> None:
    """Remember the released cells of an aggregate release (same unit of work as the release)."""
    session.add_all(
        AggregateCellRow(
            release_id=release_id,
            agreement=agreement,
            member=member,
            cell=cell,
            people=n,
            released=True,
        )
        for cell, n in people.items()
    )


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
