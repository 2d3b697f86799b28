"""The engines Splink runs on: DuckDB on one machine, Spark when data outgrows it.

Switching is one argument; everything else (settings, training, clustering, keys) is the same.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from accord.errors import InvalidInput

Backend = Literal["duckdb", "spark"]
BACKENDS = ("duckdb", "spark")


def make_db_api(
    backend: str, *, memory_limit: str | None = None, threads: int | None = None
) -> Any:
    """A Splink database API for ``backend``.

    Examples:
        >>> api = make_db_api("duckdb")
        >>> api.sql_dialect.sql_dialect_str
        'duckdb'
    """
    if backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect()
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            con.execute(f"SET memory_limit = '{memory_limit}'")
        return DuckDBAPI(connection=con)
    if backend == "spark":
        from splink import SparkAPI

        return SparkAPI(spark_session=spark_session(), break_lineage_method="parquet")
    raise InvalidInput(f"Unknown linkage backend {backend!r}: choose duckdb or spark")


_SPARK: Any = None


def spark_session() -> Any:
    """A local Spark session (``local[*]``) with Splink's similarity functions loaded."""
    global _SPARK
    if _SPARK is not None:
        return _SPARK
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise InvalidInput(
            "The Spark backend needs pyspark: pip install 'pyspark>=3.5' (and Java 17)"
        ) from exc
    master = os.environ.get("ACCORD_SPARK_MASTER", "local[*]")
    builder = (
        SparkSession.builder.master(master)
        .appName("accord-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.sql.shuffle.partitions", os.environ.get("ACCORD_SPARK_PARTITIONS", "8"))
        .config("spark.default.parallelism", os.environ.get("ACCORD_SPARK_PARTITIONS", "8"))
        .config("spark.driver.memory", os.environ.get("ACCORD_SPARK_MEMORY", "4g"))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.ansi.enabled", "false")
    )
    _SPARK = builder.getOrCreate()
    _SPARK.sparkContext.setLogLevel("ERROR")
    _SPARK.sparkContext.setCheckpointDir(
        os.path.join(os.environ.get("TMPDIR", "/tmp"), "accord-spark-checkpoints")
    )
    return _SPARK


def to_arrow(splink_df: Any) -> Any:
    """A Splink result as an Arrow table, whatever the backend."""
    import pyarrow as pa

    if hasattr(splink_df, "as_spark_dataframe"):
        try:
            return splink_df.as_pyarrow_table()
        except Exception:  # older pyspark without toArrow
            rows = splink_df.as_record_list()
            return pa.Table.from_pylist(rows)
    return splink_df.as_pyarrow_table()
