"""Compact record ids for scoring: the same pairs, a third of the memory.

Splink identifies a record in a scoring run by the text ``source_dataset || '-__-' || unique_id``,
keeps two of them for every candidate pair and joins on them. With Accord's ids that text is
about 36 characters ("nhs/gp_registrations-__-GP0000012345"); a hundred million candidate pairs
then hold gigabytes of ids. For scoring, each source is given a one-letter code and each record
its rank within the source, zero-padded ("a-__-0001234": 12 characters, which DuckDB stores
inline), and the scored pairs are given their own ids back afterwards.

The codes keep the order of the original ids, so Splink orders every pair the same way (it
scores ``l < r`` only, and a rule such as "l.given_name = r.family_name" depends on which record
is ``l``): the same pairs are found and scored. Training never sees the codes (Splink's u
sampling draws records by their ids), only prediction does.

The steps after scoring (household association, absence, exclusive candidates, the threshold)
join and group millions of pairs by record; they run on the compact ids too, with the rank as
an integer (``numbered_tables``; the engine casts the pairs' ranks the same way), and the pairs
kept get their own ids back at the end.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

CODES = string.ascii_lowercase


@dataclass
class CompactIds:
    """The compact tables for scoring and the way back to the original ids."""

    tables: dict[str, pa.Table]  # source ref -> its records with compact ids
    codes: list[str]  # compact source code of each source, in ``refs`` order
    refs: list[str]
    originals: list[pa.Array]  # per source: original ids in rank order

    def ref_of(self, code: str) -> str:
        """The source ref of a compact source code."""
        return self.refs[self.codes.index(code)]

    def code_of(self, ref: str) -> str:
        """The compact source code of a source ref."""
        return self.codes[self.refs.index(ref)]

    def numbered_tables(self) -> list[pa.Table]:
        """The compact tables, in ``refs`` order, with the rank as an integer unique_id."""
        return [
            table.set_column(
                table.schema.get_field_index("unique_id"),
                "unique_id",
                pc.cast(table.column("unique_id"), pa.int64()),
            )
            for table in (self.tables[ref] for ref in self.refs)
        ]

    def restore(self, pairs: pa.Table) -> pa.Table:
        """Scored pairs with their original source refs and record ids."""
        offsets = np.cumsum([0] + [len(o) for o in self.originals])[:-1]
        all_ids = pa.concat_arrays([o.cast(pa.string()) for o in self.originals])
        all_refs = pa.array(
            [ref for ref, o in zip(self.refs, self.originals, strict=True) for _ in range(len(o))],
            pa.string(),
        )
        codes = pa.array(self.codes, pa.string())
        for side in ("l", "r"):
            source = pc.index_in(pairs.column(f"source_dataset_{side}").cast(pa.string()), codes)
            rank = pc.cast(pairs.column(f"unique_id_{side}"), pa.int64())
            position = pa.array(
                offsets[source.to_numpy(zero_copy_only=False)] + rank.to_numpy(zero_copy_only=False)
            )
            for name, values in (("source_dataset", all_refs), ("unique_id", all_ids)):
                column = f"{name}_{side}"
                pairs = pairs.set_column(
                    pairs.schema.get_field_index(column), column, values.take(position)
                )
        return pairs


def compact_ids(tables: dict[str, pa.Table]) -> CompactIds | None:
    """Compact ids for ``tables`` (prepared sources by ref), or None when the original order
    cannot be kept with one-letter codes (more than 26 sources, or one ref the start of another,
    which would interleave their records in Splink's order)."""
    refs = sorted(tables)
    if len(refs) > len(CODES) or any(a != b and b.startswith(a) for a in refs for b in refs):
        return None
    width = len(str(max(max(t.num_rows for t in tables.values()) - 1, 0)))
    compacted: dict[str, pa.Table] = {}
    originals: list[pa.Array] = []
    codes = list(CODES[: len(refs)])
    for ref, code in zip(refs, codes, strict=True):
        table = tables[ref]
        ids = table.column("unique_id").combine_chunks().cast(pa.string())
        order = pc.sort_indices(ids)  # byte order, as DuckDB compares text
        rank = np.empty(len(ids), dtype=np.int64)
        rank[order.to_numpy()] = np.arange(len(ids))
        padded = pc.utf8_lpad(pc.cast(pa.array(rank), pa.string()), width=width, padding="0")
        table = table.set_column(
            table.schema.get_field_index("unique_id"), "unique_id", padded
        ).set_column(
            table.schema.get_field_index("source_dataset"),
            "source_dataset",
            pa.array([code] * table.num_rows, pa.string()),
        )
        compacted[ref] = table
        originals.append(ids.take(order))
    return CompactIds(compacted, codes, refs, originals)
