"""Add the evidence disclosure control needs to a checked query, without changing its answer.

Every view in the sandbox carries one hidden column: a row number that the trust, and only the
trust, can map back to the record (and person) it came from. Lock 1 never lets a caller name
it (it is not in the schema the query is qualified against). Here the checked tree is rewritten
so that the hidden row numbers flow from each dataset up to the outer SELECT:

* a record-level answer gets them as extra columns, stripped before release;
* an aggregate answer gets, per cell, the number of distinct contributors of each dataset, the
  list of contributors, and for every SUM/AVG the largest values, the total and the number of
  negative values (the inputs of SACRO's dominance and p-ratio checks).

An aggregate over one dataset, without joins, nested queries or anything that could answer
differently when run again (random numbers, the clock, sampling), gets a cheaper plan: per cell
only the count and the group key (which names the cell), and a second query,
``contributors_sql``, that lists every cell's key, count and rows. The
query service may run that second query after the answer has left (the data it runs on is
pinned), so the answer does not wait for its contributors to be listed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from accord.policy.functions import AGGREGATES, ALL_AGGREGATES, PERSON_LEVEL_AGGREGATES
from accord.policy.refusal import QueryRefused
from accord.policy.sql_check import DIALECT, CheckedQuery, root_scope

HIDDEN_PREFIX = "__accord_"
VALUE_AGGREGATES = (
    exp.Sum,
    exp.Avg,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
)


@dataclass
class Measure:
    """One aggregate column of an aggregate answer."""

    column: str
    kind: str  # "count" (rounded, thresholded) or "value" (dominance-checked)
    # Evidence column names for each SUM/AVG-like aggregate in the column: (sum, top1, top2, neg)
    values: list[tuple[str, str, str, str]] = field(default_factory=list)


@dataclass
class Plan:
    """What the sandbox runs and how to read its answer."""

    sql: str
    aggregate: bool
    outputs: list[str]  # the caller's columns, in order
    hidden: list[str] = field(default_factory=list)  # row-number columns (record-level)
    dimensions: list[str] = field(default_factory=list)
    measures: list[Measure] = field(default_factory=list)
    counts: list[str] = field(default_factory=list)  # per-cell distinct contributors, per source
    contributors: list[str] = field(default_factory=list)  # per-cell lists, per source
    provenance_sql: str | None = None  # a second query for contributors, when needed
    # An aggregate over one dataset with no join: each row is in one cell at most once, so
    # counting rows is counting distinct rows and the contributor lists hold no repeats.
    rows_unique: bool = False
    # Deterministic aggregates over one dataset (see the module docstring): per cell, its
    # group key in ``sql``; each cell's key, count and rows from ``contributors_sql``.
    keys: list[str] = field(default_factory=list)
    contributors_sql: str | None = None
    contributors_sql_rows: str = ""  # its column of each cell's rows


def instrument(checked: CheckedQuery, row_column: str) -> Plan:
    """Rewrite ``checked`` so its answer carries disclosure-control evidence."""
    tree = checked.tree.copy()
    outputs = list(tree.named_selects)
    if _is_aggregate(tree):
        return _aggregate_plan(tree, outputs, row_column)
    return _record_plan(tree, outputs, row_column)


def is_aggregate_query(tree: exp.Query) -> bool:
    """Whether the outer SELECT summarises rows (GROUP BY or an aggregate in its columns)."""
    return _is_aggregate(tree)


# -- classification -------------------------------------------------------------------------


def _is_aggregate(tree: exp.Query) -> bool:
    if isinstance(tree, exp.SetOperation):
        kinds = {_is_aggregate(branch) for branch in (tree.left, tree.right)}
        if kinds == {True, False}:
            raise QueryRefused(
                "a set operation mixes aggregate and record-level rows; ask for them separately"
            )
        return kinds == {True}
    if not isinstance(tree, exp.Select):
        return False
    return _aggregating(tree)


def _aggregating(select: exp.Select) -> bool:
    if select.args.get("group"):
        return True
    return any(_outer_aggregates(p) for p in select.expressions)


def _outer_aggregates(expression: exp.Expression) -> list[exp.Expression]:
    """Aggregates of this SELECT level (not in windows, not in nested queries)."""
    found = []
    for node in expression.walk(prune=lambda n: isinstance(n, exp.Query | exp.Window)):
        if isinstance(node, tuple(ALL_AGGREGATES)) and not isinstance(node.parent, exp.Window):
            found.append(node)
    return found


# -- provenance -----------------------------------------------------------------------------


class _Names:
    def __init__(self) -> None:
        self.counter = itertools.count()

    def next(self, kind: str) -> str:
        return f"{HIDDEN_PREFIX}{kind}_{next(self.counter)}"


def _provide(scope: Scope, row_column: str, names: _Names, memo: dict[int, list[str]]) -> list[str]:
    """Make ``scope`` output hidden row-number columns; return their names ([] if it cannot)."""
    key = id(scope.expression)
    if key in memo:
        return memo[key]
    memo[key] = []  # guards against cycles; replaced below
    if isinstance(scope.expression, exp.SetOperation):
        provided = _provide_set(scope, row_column, names, memo)
    elif isinstance(scope.expression, exp.Select):
        select = scope.expression
        if _aggregating(select) or select.args.get("distinct"):
            provided = []
        else:
            provided = _add_sources(scope, select, row_column, names, memo)
    else:
        provided = []
    memo[key] = provided
    return provided


def _add_sources(
    scope: Scope, select: exp.Select, row_column: str, names: _Names, memo: dict[int, list[str]]
) -> list[str]:
    provided: list[str] = []
    for alias, (_node, source) in scope.selected_sources.items():
        if isinstance(source, exp.Table):
            name = names.next("row")
            select.select(
                exp.alias_(exp.column(row_column, table=alias, quoted=True), name, quoted=True),
                copy=False,
            )
            provided.append(name)
        elif isinstance(source, Scope):
            for inner in _provide(source, row_column, names, memo):
                name = names.next("row")
                select.select(
                    exp.alias_(exp.column(inner, table=alias, quoted=True), name, quoted=True),
                    copy=False,
                )
                provided.append(name)
    return provided


def _provide_set(
    scope: Scope, row_column: str, names: _Names, memo: dict[int, list[str]]
) -> list[str]:
    operation = scope.expression
    if not isinstance(operation, exp.Union) or operation.args.get("distinct"):
        return []  # adding columns would change which rows a DISTINCT set operation keeps
    per_branch = [
        _provide(branch, row_column, names, memo) for branch in scope.set_operation_scopes
    ]
    if any(not provided for provided in per_branch):
        return []
    # Every branch must output the same columns: rename to shared names, pad with NULLs.
    shared = [names.next("row") for _ in range(sum(len(p) for p in per_branch))]
    offset = 0
    for branch, provided in zip(scope.set_operation_scopes, per_branch, strict=True):
        select = branch.expression
        if not isinstance(select, exp.Select):
            return []  # nested set operations: contributors cannot be lined up
        mapping = dict(zip(shared[offset : offset + len(provided)], provided, strict=True))
        offset += len(provided)
        own = {e.alias_or_name: e.this for e in select.expressions if e.alias_or_name in provided}
        select.set("expressions", [e for e in select.expressions if e.alias_or_name not in own])
        for name in shared:
            value = own[mapping[name]].copy() if name in mapping else exp.cast(exp.null(), "BIGINT")
            select.select(exp.alias_(value, name, quoted=True), copy=False)
    return shared


# -- record-level ---------------------------------------------------------------------------


def _record_plan(tree: exp.Query, outputs: list[str], row_column: str) -> Plan:
    scope = root_scope(tree)
    names = _Names()
    if isinstance(tree, exp.Select) and not tree.args.get("distinct"):
        hidden = _add_sources(scope, tree, row_column, names, {})
        return Plan(sql=_sql(tree), aggregate=False, outputs=outputs, hidden=hidden)
    # DISTINCT or a set operation: the answer runs unchanged; contributors come from a second
    # query over the same rows without DISTINCT (a superset of the rows that shaped the answer).
    answer_sql = _sql(tree)
    provenance = tree.copy()
    for select in provenance.find_all(exp.Select):
        if select.parent_select is None or select is provenance:
            select.set("distinct", None)
    if isinstance(provenance, exp.Union):
        provenance.set("distinct", False)
    provenance.set("limit", None)
    provenance.set("order", None)
    scope = root_scope(provenance)
    hidden = (
        _provide(scope, row_column, names, {})
        if isinstance(provenance, exp.Union)
        else (
            _add_sources(scope, provenance, row_column, names, {})
            if isinstance(provenance, exp.Select)
            else []
        )
    )
    if not hidden:
        raise QueryRefused(
            "the people behind this answer cannot be traced, so it cannot be "
            "released; simplify the query"
        )
    wrapped = exp.select(*[exp.column(h, quoted=True) for h in hidden]).from_(
        provenance.subquery("__accord_p")
    )
    return Plan(
        sql=answer_sql,
        aggregate=False,
        outputs=outputs,
        hidden=hidden,
        provenance_sql=_sql(wrapped),
    )


# -- aggregate ------------------------------------------------------------------------------


def _aggregate_plan(tree: exp.Query, outputs: list[str], row_column: str) -> Plan:
    if not isinstance(tree, exp.Select):
        raise QueryRefused(
            "an aggregate answer must be one SELECT at the outer level (not a set operation), "
            "so that each of its cells can be checked"
        )
    for clause in ("having", "order", "qualify"):
        node = tree.args.get(clause)
        if node is not None and any(
            isinstance(n, tuple(PERSON_LEVEL_AGGREGATES)) for n in node.walk()
        ):
            raise QueryRefused(_person_level_reason())
    if tree.args.get("qualify") is not None or any(p.find(exp.Window) for p in tree.expressions):
        raise QueryRefused(
            "window functions over aggregate cells are not allowed: they would compute across "
            "cells that disclosure control may suppress"
        )
    group = tree.args.get("group")
    if group is not None and any(
        isinstance(n, exp.Rollup | exp.Cube | exp.GroupingSets) for n in group.walk()
    ):
        raise QueryRefused(
            "ROLLUP, CUBE and GROUPING SETS are not allowed: ask for the cells; the trust adds "
            "totals computed from the released cells (--totals)"
        )
    scope = root_scope(tree)
    names = _Names()
    memo: dict[int, list[str]] = {}
    per_source: list[exp.Column] = []
    for alias, (_node, source) in scope.selected_sources.items():
        if isinstance(source, exp.Table):
            per_source.append(exp.column(row_column, table=alias, quoted=True))
        elif isinstance(source, Scope):
            provided = _provide(source, row_column, names, memo)
            if not provided:
                raise QueryRefused(
                    f"{alias} is itself aggregated or de-duplicated; disclosure control needs "
                    "one level of aggregation, over rows of the datasets"
                )
            per_source.extend(exp.column(p, table=alias, quoted=True) for p in provided)
    dimensions: list[str] = []
    measures: list[Measure] = []
    evidence: list[exp.Expression] = []
    for projection in list(tree.expressions):
        name = projection.alias_or_name
        aggregates = _outer_aggregates(projection)
        if not aggregates:
            dimensions.append(name)
            continue
        if any(isinstance(a, tuple(PERSON_LEVEL_AGGREGATES)) for a in aggregates):
            raise QueryRefused(_person_level_reason(name))
        measure = Measure(column=name, kind="count" if _is_count(projection) else "value")
        for aggregate in aggregates:
            if isinstance(aggregate, VALUE_AGGREGATES):
                measure.values.append(_value_evidence(aggregate, names, evidence))
        measures.append(measure)
    counts, contributors = [], []
    rows_unique = _single_table(tree, scope)
    group = tree.args.get("group")
    keys_of = list(group.expressions) if group is not None else []
    if (
        rows_unique
        and len(per_source) == 1
        and _repeatable(tree)
        and not (group is not None and group.args.get("all"))
        and not any(isinstance(k, exp.Literal) for k in keys_of)
    ):
        # The count and the group key only (the key costs nothing: the grouping computes it);
        # the rows of each cell come from a second query.
        column = per_source[0]
        keys = [names.next("key") for _ in keys_of]
        n, c = names.next("n"), names.next("c")
        lineage = tree.copy()
        for clause in ("having", "order", "limit", "offset"):
            lineage.set(clause, None)  # every cell, whatever the answer keeps of them
        lineage.set("expressions", [])
        # The same key and count columns in both queries (each tree gets its own copy).
        shared = [
            exp.alias_(k.copy(), name, quoted=True) for k, name in zip(keys_of, keys, strict=True)
        ]
        shared.append(exp.alias_(exp.Count(this=column.copy()), n, quoted=True))
        lineage.select(
            *[e.copy() for e in shared],
            exp.alias_(exp.ArrayAgg(this=column.copy()), c, quoted=True),
            copy=False,
        )
        evidence.extend(shared)
        tree.select(*evidence, copy=False)
        return Plan(
            sql=_sql(tree),
            aggregate=True,
            outputs=outputs,
            dimensions=dimensions,
            measures=measures,
            counts=[n],
            contributors=[],
            rows_unique=True,
            keys=keys,
            contributors_sql=_sql(lineage),
            contributors_sql_rows=c,
        )
    for column in per_source:
        n = names.next("n")
        c = names.next("c")
        # Built as nodes, not parsed from text: the same SQL, without a parse per column.
        counted = column.copy() if rows_unique else exp.Distinct(expressions=[column.copy()])
        evidence.append(exp.alias_(exp.Count(this=counted), n, quoted=True))
        evidence.append(exp.alias_(exp.ArrayAgg(this=column.copy()), c, quoted=True))
        counts.append(n)
        contributors.append(c)
    tree.select(*evidence, copy=False)
    return Plan(
        sql=_sql(tree),
        aggregate=True,
        outputs=outputs,
        dimensions=dimensions,
        measures=measures,
        counts=counts,
        contributors=contributors,
        rows_unique=rows_unique,
    )


# Anything that may answer differently when the same query runs again on the same data.
_UNREPEATABLE = tuple(
    getattr(exp, name)
    for name in (
        "Rand",
        "Randn",
        "Uuid",
        "CurrentDate",
        "CurrentDatetime",
        "CurrentTime",
        "CurrentTimestamp",
        "CurrentTimestampLTZ",
        "TableSample",
        "Anonymous",
        "Window",
        "Subquery",
        "Select",
    )
    if hasattr(exp, name)
)


def _repeatable(select: exp.Select) -> bool:
    """Whether ``select`` gives the same rows each time it runs on the same data: no clock,
    no random numbers, no sampling, no nested query (whose LIMIT could pick other rows)."""
    return not any(isinstance(node, _UNREPEATABLE) and node is not select for node in select.walk())


def _single_table(select: exp.Select, scope: Scope) -> bool:
    """Whether ``select`` reads exactly one dataset table directly, with no join or lateral
    source that could repeat one of its rows."""
    sources = list(scope.selected_sources.values())
    return (
        len(sources) == 1
        and isinstance(sources[0][1], exp.Table)
        and not select.args.get("joins")
        and not select.args.get("laterals")
        and isinstance(select.args.get("from_") or select.args.get("from"), exp.From)
    )


def _person_level_reason(column: str | None = None) -> str:
    where = f" ({column})" if column else ""
    return (
        f"minima, maxima, medians and other single-person values cannot be released as "
        f"aggregates{where}: they are one person's own value"
    )


def _is_count(projection: exp.Expression) -> bool:
    node = projection.this if isinstance(projection, exp.Alias) else projection
    while isinstance(node, exp.Paren | exp.Cast | exp.TryCast | exp.Filter):
        node = node.this
    return isinstance(node, exp.Count | exp.CountIf)


def _value_evidence(
    aggregate: exp.Expression, names: _Names, evidence: list[exp.Expression]
) -> tuple[str, str, str, str]:
    value = exp.cast(aggregate.this.copy(), "DOUBLE")
    if isinstance(aggregate.this, exp.Distinct):
        value = exp.cast(aggregate.this.expressions[0].copy(), "DOUBLE")
    wrapper = aggregate.parent if isinstance(aggregate.parent, exp.Filter) else None
    built = {
        "sum": exp.Sum(this=value.copy()),
        "top1": exp.Max(this=value.copy()),
        "top2": exp.Anonymous(
            this="list_sum",
            expressions=[exp.Max(this=value.copy(), expressions=[exp.Literal.number(2)])],
        ),
        "neg": exp.CountIf(this=exp.LT(this=value.copy(), expression=exp.Literal.number(0))),
    }
    out = []
    for kind, node in built.items():
        if wrapper is not None:
            node = exp.Filter(this=node, expression=wrapper.expression.copy())
        name = names.next(kind)
        evidence.append(exp.alias_(node, name, quoted=True))
        out.append(name)
    return out[0], out[1], out[2], out[3]


def _sql(tree: exp.Expression) -> str:
    return tree.sql(dialect=DIALECT, identify=True, comments=False)


__all__ = ["AGGREGATES", "Measure", "Plan", "instrument", "is_aggregate_query"]
