"""Where each output column of a checked query comes from.

Lock 3 needs, for every column of the answer, the dataset fields it is computed from and whether
anything on the way summarises rows (an aggregate) or looks across rows (a window). The lineage
is followed through CTEs, derived tables and set operations on sqlglot's scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from accord.policy.functions import ALL_AGGREGATES, PERSON_LEVEL_AGGREGATES
from accord.policy.sql_check import root_scope


@dataclass
class Lineage:
    """One output column: the fields it reads and how it was computed."""

    name: str
    fields: set[str] = field(default_factory=set)  # "member/dataset.field"
    aggregated: bool = False  # an aggregate on the way
    person_level: bool = False  # a MIN/MAX/MEDIAN-like aggregate on the way
    windowed: bool = False  # a window function on the way


def output_lineage(tree: exp.Query) -> list[Lineage]:
    """The lineage of each output column of ``tree``, in output order."""
    scope = root_scope(tree)
    names = list(tree.named_selects)
    return [_trace(scope, i, name) for i, name in enumerate(names)]


def _trace(scope: Scope, index: int, name: str) -> Lineage:
    lineage = Lineage(name=name)
    _follow(scope, index, lineage, depth=0)
    return lineage


def _follow(scope: Scope, index: int, lineage: Lineage, depth: int) -> None:
    if depth > 64:  # pragma: no cover - pathological nesting
        return
    if isinstance(scope.expression, exp.SetOperation):
        for branch in scope.set_operation_scopes:
            _follow(branch, index, lineage, depth + 1)
        return
    select = scope.expression
    if not isinstance(select, exp.Select) or index >= len(select.expressions):
        return
    _follow_expression(scope, select.expressions[index], lineage, depth)


def _follow_expression(
    scope: Scope, expression: exp.Expression, lineage: Lineage, depth: int
) -> None:
    for node in expression.walk():
        if isinstance(node, tuple(ALL_AGGREGATES)):
            lineage.aggregated = True
            if isinstance(node, tuple(PERSON_LEVEL_AGGREGATES)):
                lineage.person_level = True
        if isinstance(node, exp.Window):
            lineage.windowed = True
            if isinstance(node.this, tuple(ALL_AGGREGATES)):
                lineage.aggregated = True
        if isinstance(node, exp.Subquery | exp.Select) and node is not expression:
            lineage.aggregated = True  # a scalar subquery summarises rows
    for column in expression.find_all(exp.Column):
        source = scope.sources.get(column.table)
        if isinstance(source, exp.Table):
            lineage.fields.add(f"{source.db.lower()}/{source.name.lower()}.{column.name.lower()}")
        elif isinstance(source, Scope):
            position = _position(source, column.name)
            if position is not None:
                _follow(source, position, lineage, depth + 1)
        else:
            # an output alias referenced in the same SELECT, or a column of a nested query
            select = scope.expression
            if isinstance(select, exp.Select):
                for projection in select.expressions:
                    if projection.alias_or_name == column.name and projection is not expression:
                        _follow_expression(scope, projection, lineage, depth + 1)
                        break
    for subquery in expression.find_all(exp.Subquery):
        for column in subquery.find_all(exp.Column):
            lineage.fields.add(f"?.{column.name}")  # a subquery in an output: never plain


def _position(scope: Scope, name: str) -> int | None:
    expression = scope.expression
    if isinstance(expression, exp.Query):
        names = [n.lower() for n in expression.named_selects]
        if name.lower() in names:
            return names.index(name.lower())
    return None
