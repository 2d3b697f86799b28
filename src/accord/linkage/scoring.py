"""Scoring chosen pairs with a trained model, outside a full run: explanations and new records.

Splink's real-time API (``compare_records``) scores records against each other with SQL built
once and cached; term frequencies come from the run's own lookup (stored with its model), so
a pair scores the same here as in the run that made it.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from splink.internals.realtime import compare_records
from splink.internals.settings_creator import SettingsCreator
from splink.internals.waterfall_chart import records_to_waterfall_data

from accord.linkage.dialects import model_for_dialect

TF_COLUMNS = ("given_name", "family_name", "postcode")


def term_frequencies(tables: list[pa.Table]) -> pa.Table:
    """(column, value, tf) for every column with term-frequency adjustment."""
    con = duckdb.connect()
    parts = []
    for i, table in enumerate(tables):
        con.register(f"__t{i}", table)
    for column in TF_COLUMNS:
        if all(column in t.column_names for t in tables):
            union = " UNION ALL ".join(
                f"SELECT {column} AS v FROM __t{i}" for i in range(len(tables))
            )
            parts.append(
                f"SELECT '{column}' AS column_name, v AS value, "
                "count(*) / sum(count(*)) OVER () AS tf "
                f"FROM ({union}) WHERE v IS NOT NULL GROUP BY v"
            )
    if not parts:
        return pa.table(
            {
                "column_name": pa.array([], pa.string()),
                "value": pa.array([], pa.string()),
                "tf": pa.array([], pa.float64()),
            }
        )
    result = con.sql(" UNION ALL ".join(parts)).to_arrow_table()
    con.close()
    return result


class Scorer:
    """Score prepared records against each other with a trained model.

    Examples:
        >>> scorer = Scorer(model, tf_table)  # doctest: +SKIP
        >>> scorer.score([record_a], [record_b]).column("match_probability")  # doctest: +SKIP
    """

    def __init__(self, model: dict[str, Any], tf: pa.Table | None = None) -> None:
        from splink import DuckDBAPI

        model = model_for_dialect(model, "duckdb")
        self.model = {k: v for k, v in model.items() if k != "accord"}
        self.accord = model.get("accord", {})
        self.db_api = DuckDBAPI(connection=duckdb.connect())
        self.settings = SettingsCreator.from_path_or_dict(self.model)
        self.settings_obj = self.settings.get_settings("duckdb")
        self.tf: dict[str, dict[str, float]] = {}
        if tf is not None:
            for column, value, freq in zip(
                tf.column("column_name").to_pylist(),
                tf.column("value").to_pylist(),
                tf.column("tf").to_pylist(),
                strict=True,
            ):
                self.tf.setdefault(column, {})[value] = freq
        self.tf_columns = [c for c in TF_COLUMNS if c in self.tf]
        self._cache_key = f"accord-{id(self)}"

    def with_tf(self, records: pa.Table) -> pa.Table:
        """Add the tf_ columns the model needs, from the run's lookup."""
        for column in self.tf_columns:
            if column not in records.column_names:
                continue
            lookup = self.tf[column]
            values = [
                lookup.get(v) if v is not None else None for v in records.column(column).to_pylist()
            ]
            name = f"tf_{column}"
            if name in records.column_names:
                records = records.drop_columns([name])
            records = records.append_column(name, pa.array(values, pa.float64()))
        return records

    def score(self, left: pa.Table, right: pa.Table) -> pa.Table:
        """Every left record scored against every right record."""
        result = compare_records(
            self.with_tf(left),
            self.with_tf(right),
            self.settings,
            self.db_api,
            sql_cache_key=self._cache_key,
        )
        table = result.as_pyarrow_table()
        result.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
        self._forget_inputs()
        return table

    def _forget_inputs(self) -> None:
        # compare_records registers both inputs under fresh names each call; unregister them so
        # a long incremental session does not accumulate views.
        con = self.db_api.duckdb_con
        names = con.execute(
            "SELECT view_name FROM duckdb_views() "
            "WHERE view_name LIKE '__splink__compare_records_%'"
        ).fetchall()
        for (name,) in names:
            con.unregister(name)

    def waterfall(self, left: pa.Table, right: pa.Table) -> list[dict[str, Any]]:
        """How each comparison moved the match weight, for one pair (Splink's waterfall data)."""
        scored = self.score(left.slice(0, 1), right.slice(0, 1)).to_pylist()
        return records_to_waterfall_data(scored, self.settings_obj, False)
