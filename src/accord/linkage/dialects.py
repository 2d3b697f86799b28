"""One trained model, any engine: a saved model rewritten for another SQL dialect.

Splink saves a model with each comparison level's SQL written for the engine that trained it.
That SQL is not portable: DuckDB quotes identifiers with ``"`` where Spark reads ``"x"`` as a
string literal, and the similarity functions have other names. Accord never edits that SQL.
Every model it saves records how it was built (roles, encodings, blocking rules), so the model
is rebuilt for the other dialect from the same registries (whose creators write each dialect's
SQL) and the trained parameters are copied across level by level.
"""

from __future__ import annotations

import copy
from typing import Any

from accord.catalogue.contract import Role
from accord.errors import InvalidInput

# Parameters of a level that training sets; everything else is rebuilt for the dialect.
_LEVEL_PARAMETERS = (
    "m_probability",
    "u_probability",
    "fix_m_probability",
    "fix_u_probability",
    "tf_adjustment_weight",
    "tf_minimum_u_value",
)


def model_dialect(model: dict[str, Any]) -> str:
    """The SQL dialect a saved model's SQL is written in."""
    return str(model.get("sql_dialect") or "duckdb")


def model_for_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """``model`` with its SQL written for ``dialect`` and the same trained parameters.

    Examples:
        >>> spark_model = model_for_dialect(duckdb_model, "spark")  # doctest: +SKIP
        >>> spark_model["sql_dialect"]  # doctest: +SKIP
        'spark'
    """
    if model_dialect(model) == dialect:
        return model
    from accord.linkage import blocking
    from accord.linkage.engine import build_settings

    accord = model.get("accord") or {}
    if "roles" not in accord:
        raise InvalidInput(
            "This model does not record the identifier roles it was built from, so it cannot be "
            f"moved from {model_dialect(model)} to {dialect}: re-run the linkage on {dialect}"
        )
    roles = {Role(r) for r in accord["roles"]}
    encodings = {Role(r): e for r, e in (accord.get("encodings") or {}).items()}
    names = accord.get("rules")
    rules = [r for r in blocking.REGISTRY if names is None or r.name in names]
    creator = build_settings(roles, model["link_type"], encodings, rules)["creator"]
    fresh = creator.get_settings(dialect).as_dict()
    by_name = {c["output_column_name"]: c for c in model["comparisons"]}
    for comparison in fresh["comparisons"]:
        name = comparison["output_column_name"]
        old = by_name.get(name)
        if old is None or len(old["comparison_levels"]) != len(comparison["comparison_levels"]):
            raise InvalidInput(
                f"The saved model's {name} comparison no longer matches Accord's templates, so it "
                f"cannot be moved from {model_dialect(model)} to {dialect}: re-run the linkage"
            )
        for level, old_level in zip(
            comparison["comparison_levels"], old["comparison_levels"], strict=True
        ):
            for key in _LEVEL_PARAMETERS:
                if key in old_level:
                    level[key] = old_level[key]
    fresh["probability_two_random_records_match"] = model["probability_two_random_records_match"]
    fresh["accord"] = copy.deepcopy(accord)
    return fresh
