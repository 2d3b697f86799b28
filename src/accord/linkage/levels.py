"""Comparison levels that give Splink's results at a lower cost.

DuckDB's ``damerau_levenshtein`` is about seven times slower than its ``levenshtein`` (it keeps
a table per alphabet), and a pair of records goes through several such levels: it was half the
time of scoring. A Damerau-Levenshtein distance of at most *d* implies a Levenshtein distance of
at most *2d* (an adjacent transposition is two edits), so the cheap distance screens out the
pairs the expensive one would reject. The level is true, false or null for exactly the same
pairs as Splink's own (both distances are null when either side is null), and a CASE evaluates
the second condition only on the pairs that pass the first.
"""

from __future__ import annotations

from splink.internals.comparison_level_library import DamerauLevenshteinLevel
from splink.internals.dialects import SplinkDialect


class ScreenedDamerauLevenshteinLevel(DamerauLevenshteinLevel):
    """Splink's ``DamerauLevenshteinLevel`` (same label, same pairs), screened by Levenshtein.

    Examples:
        >>> duckdb = SplinkDialect.from_string("duckdb")
        >>> ScreenedDamerauLevenshteinLevel("dob", 1).create_sql(duckdb)
        '(levenshtein("dob_l", "dob_r") <= 2 AND damerau_levenshtein("dob_l", "dob_r") <= 1)'
    """

    def create_sql(self, sql_dialect: SplinkDialect) -> str:
        self.col_expression.sql_dialect = sql_dialect
        col = self.col_expression
        d = self.distance_threshold
        lev = sql_dialect.levenshtein_function_name
        dl = sql_dialect.damerau_levenshtein_function_name
        return (
            f"({lev}({col.name_l}, {col.name_r}) <= {2 * d} "
            f"AND {dl}({col.name_l}, {col.name_r}) <= {d})"
        )
