"""Linkage quality against the synthetic ground truth: pairwise precision, recall and F1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq


@dataclass(frozen=True)
class LinkQuality:
    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def truth_map(synthetic: Path, ref: str) -> dict[str, str]:
    """Record key -> true person id for one dataset ("member/name") of a synthetic population."""
    member, name = ref.split("/")
    table = pq.read_table(synthetic / "ground_truth" / member / f"{name}.parquet")
    keys = table.column(table.column_names[0]).to_pylist()
    return dict(
        zip((str(k) for k in keys), table.column("true_person_id").to_pylist(), strict=True)
    )


def link_quality(keys_path: Path, ground_truth: dict[str, tuple[Path, str]]) -> LinkQuality:
    """Compare person keys with the truth.

    ``ground_truth`` maps a dataset ref ("member/name") to its ground-truth Parquet and the name
    of its primary-key column. Pairs are every two records that share a person key (predicted)
    or a true person (true); only records present in the keys file count.
    """
    con = duckdb.connect()
    truth_sql = " UNION ALL ".join(
        f"SELECT '{ref}' AS dataset, CAST(\"{key}\" AS VARCHAR) AS record_key, "
        f"CAST(true_person_id AS VARCHAR) AS true_id FROM read_parquet('{path}')"
        for ref, (path, key) in ground_truth.items()
    )
    con.execute(
        f"CREATE TABLE labelled AS SELECT k.dataset, k.record_key, k.person_key, t.true_id "
        f"FROM read_parquet('{keys_path}') AS k JOIN ({truth_sql}) AS t "
        "USING (dataset, record_key)"
    )

    def pairs(by: str) -> int:
        row = con.execute(
            f"SELECT COALESCE(SUM(n * (n - 1) / 2), 0) FROM "
            f"(SELECT COUNT(*) AS n FROM labelled GROUP BY {by})"
        ).fetchone()
        return int(row[0]) if row else 0

    records_row = con.execute("SELECT COUNT(*) FROM labelled").fetchone()
    quality = LinkQuality(
        records=int(records_row[0]) if records_row else 0,
        true_pairs=pairs("true_id"),
        predicted_pairs=pairs("person_key"),
        correct_pairs=pairs("person_key, true_id"),
    )
    con.close()
    return quality
