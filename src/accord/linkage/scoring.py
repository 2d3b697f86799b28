"""Scoring chosen pairs with a trained model, outside a full run: explanations and new records.

Splink's real-time scoring (the SQL pipeline of ``compare_records``) scores records against
each other with SQL built once per scorer and reused; term frequencies come from the run's own
lookup (stored with its model), so a pair scores the same here as in the run that made it.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from splink.internals.pipeline import CTEPipeline
from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings
from splink.internals.settings_creator import SettingsCreator
from splink.internals.waterfall_chart import records_to_waterfall_data

from accord.core.engine.prepared import run_prepared
from accord.linkage.dialects import model_for_dialect
from accord.linkage.names import name_frequencies

TF_COLUMNS = ("given_name", "family_name", "postcode")
_LEFT, _RIGHT = "__accord_score_left", "__accord_score_right"
# Up to this many records, a scorer used many times (incremental matching) looks term
# frequencies up in a dict built once: a hash set of every name in the population, built again
# for each look-up, costs more than the records' few values.
SMALL = 2_000


def term_frequencies(tables: list[pa.Table]) -> pa.Table:
    """(column, value, tf) for every column with term-frequency adjustment."""
    con = duckdb.connect()
    parts = []
    for i, table in enumerate(tables):
        con.register(f"__t{i}", table)
    names = name_frequencies(tables)  # given and family names: counted in both fields
    for i, (column, table) in enumerate(names.items()):
        con.register(f"__names{i}", table)
        parts.append(
            f"SELECT '{column}' AS column_name, {column} AS value, tf_{column} AS tf "
            f"FROM __names{i}"
        )
    for column in TF_COLUMNS:
        if column in names:
            continue
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

    def __init__(
        self, model: dict[str, Any], tf: pa.Table | None = None, *, many_calls: bool = False
    ) -> None:
        from splink import DuckDBAPI

        model = model_for_dialect(model, "duckdb")
        self.model = {k: v for k, v in model.items() if k != "accord"}
        self.accord = model.get("accord", {})
        self.db_api = DuckDBAPI(connection=duckdb.connect())
        self.settings = SettingsCreator.from_path_or_dict(self.model)
        self.settings_obj = self.settings.get_settings("duckdb")
        # column -> (values, their term frequencies), looked up vectorised by with_tf
        self.tf: dict[str, tuple[pa.Array, pa.Array]] = {}
        if tf is not None:
            for column in TF_COLUMNS:
                rows = tf.filter(pc.equal(tf.column("column_name"), column))
                if rows.num_rows:
                    self.tf[column] = (
                        rows.column("value").combine_chunks().cast(pa.string()),
                        rows.column("tf").combine_chunks().cast(pa.float64()),
                    )
        self.tf_columns = [c for c in TF_COLUMNS if c in self.tf]
        # A scorer kept for many calls on a few records each (incremental matching) looks term
        # frequencies up in dicts built once; a scorer for one explanation does not build them.
        self.many_calls = many_calls
        self._tf_dicts: dict[str, dict[str, float]] = {}
        self._sqls: dict[str, str] = {}

    def with_tf(self, records: pa.Table) -> pa.Table:
        """Add the tf_ columns the model needs, from the run's lookup."""
        for column in self.tf_columns:
            if column not in records.column_names:
                continue
            values = records.column(column).cast(pa.string())
            if self.many_calls and records.num_rows <= SMALL:
                lookup = self._tf_dict(column)
                tf = pa.array([lookup.get(v) for v in values.to_pylist()], pa.float64())
            else:
                known, freqs = self.tf[column]
                tf = pc.take(freqs, pc.index_in(values, value_set=known))
            name = f"tf_{column}"
            if name in records.column_names:
                records = records.drop_columns([name])
            records = records.append_column(name, tf)
        return records

    def score(self, left: pa.Table, right: pa.Table, join_condition: str = "1=1") -> pa.Table:
        """Left records scored against right records: every pair, or only the pairs that meet
        ``join_condition`` (SQL on ``l`` and ``r``, e.g. ``l.unique_id = r.unique_id`` to score
        row-aligned pairs in one query instead of a cross product)."""
        con = self.db_api.duckdb_con
        con.register(_LEFT, self.with_tf(left))
        con.register(_RIGHT, self.with_tf(right))
        try:
            # Prepared once per join condition: one record against its candidates costs its
            # planning, not its rows.
            return run_prepared(con, self._sql(join_condition))
        finally:
            con.unregister(_LEFT)
            con.unregister(_RIGHT)

    def _tf_dict(self, column: str) -> dict[str, float]:
        lookup = self._tf_dicts.get(column)
        if lookup is None:
            values, freqs = self.tf[column]
            lookup = dict(zip(values.to_pylist(), freqs.to_pylist(), strict=True))
            self._tf_dicts[column] = lookup
        return lookup

    def _sql(self, join_condition: str) -> str:
        """Splink's real-time scoring SQL (the pipeline of ``compare_records``), built once per
        join condition over two fixed input names. ``compare_records`` would also check, create
        and drop tables on each call; with one record against its candidates those steps cost
        more than the scoring."""
        sql = self._sqls.get(join_condition)
        if sql is not None:
            return sql
        settings = self.settings.get_settings("duckdb")
        settings._retain_matching_columns = True
        settings._retain_intermediate_calculation_columns = True
        pipeline = CTEPipeline(
            [
                self.db_api.table_to_splink_dataframe("__splink__compare_records_left", _LEFT),
                self.db_api.table_to_splink_dataframe("__splink__compare_records_right", _RIGHT),
            ]
        )
        blocked = ", ".join(settings._columns_to_select_for_blocking)
        pipeline.enqueue_sql(
            f"select {blocked}, 0 as match_key from __splink__compare_records_left as l "
            f"join __splink__compare_records_right as r on {join_condition}",
            "__splink__compare_two_records_blocked",
        )
        vectors = ", ".join(settings._columns_to_select_for_comparison_vector_values)
        pipeline.enqueue_sql(
            f"select {vectors} from __splink__compare_two_records_blocked",
            "__splink__df_comparison_vectors",
        )
        pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(settings))
        sql = pipeline.generate_cte_pipeline_sql()
        self._sqls[join_condition] = sql
        return sql

    def waterfall(self, left: pa.Table, right: pa.Table) -> list[dict[str, Any]]:
        """How each comparison moved the match weight, for one pair (Splink's waterfall data)."""
        scored = self.score(left.slice(0, 1), right.slice(0, 1)).to_pylist()
        return records_to_waterfall_data(scored, self.settings_obj, False)
