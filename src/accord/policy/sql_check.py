"""Lock 1 — before a query runs: the SQL, on its syntax tree, against what the agreement grants.

The query is parsed with sqlglot (DuckDB dialect) and every column is qualified against a schema
that holds only the granted columns of the granted datasets, so ``SELECT *`` expands to granted
columns and nothing else. Then, on the tree and independent of any engine:

* exactly one statement, and it is a query (``SELECT``, with CTEs, subqueries, joins, set
  operations and windows allowed);
* every node is on the allow-list (:mod:`accord.policy.functions`): no table functions, file
  readers, settings, catalogue functions, lambdas or parameters;
* every table is a dataset the agreement shares with the caller's member (``member.dataset``),
  or a CTE of the query itself; system catalogues are refused by name;
* every column read — selected, filtered, joined, grouped, ordered — is granted.

What runs afterwards is the checked tree regenerated as SQL, never the caller's text, so the
engine cannot read the text differently from the check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, build_scope, traverse_scope
from sqlglot.schema import MappingSchema

from accord.policy.functions import family_reason, function_name, is_allowed
from accord.policy.refusal import QueryRefused

logging.getLogger("sqlglot").setLevel(logging.ERROR)

DIALECT = "duckdb"
PERSON_KEY = "person_key"
SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "main", "temp", "system"})
SYSTEM_PREFIXES = ("duckdb_", "sqlite_", "pg_", "pragma_")


@dataclass(frozen=True)
class TableSpec:
    """What the check knows of one dataset the grant shares.

    ``columns`` are every contract field (so a refusal can say "not granted" rather than "no
    such column"); ``granted`` the fields the caller may read, plus ``person_key`` when the
    agreement's linked view offers it.
    """

    ref: str  # "member/dataset"
    columns: dict[str, str]  # name -> SQL type
    granted: frozenset[str]

    @property
    def member(self) -> str:
        return self.ref.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.ref.split("/", 1)[1]


@dataclass
class CheckedQuery:
    """A query that passed lock 1: its qualified tree and what it touches."""

    text: str
    tree: exp.Query
    columns: dict[str, set[str]] = field(default_factory=dict)  # ref -> columns read

    @property
    def datasets(self) -> list[str]:
        return sorted(self.columns)

    def touched(self) -> list[str]:
        """``member/dataset.field`` for every column the query reads, sorted."""
        return sorted(f"{ref}.{c}" for ref, cols in self.columns.items() for c in cols)

    def sql(self) -> str:
        """The checked query as DuckDB SQL (comments dropped, identifiers quoted)."""
        return self.tree.sql(dialect=DIALECT, identify=True, comments=False)


def check_query(sql: str, tables: dict[str, TableSpec], *, who: str = "you") -> CheckedQuery:
    """Check ``sql`` against the datasets and columns in ``tables``; raise QueryRefused if not.

    ``who`` names the caller in refusals (e.g. "islington under fsm-2026 for fsm-support").

    Examples:
        >>> spec = TableSpec("camden/school_census", {"upn": "VARCHAR", "fsm": "BOOLEAN"},
        ...                  frozenset({"fsm"}))
        >>> check_query("SELECT count(*) FROM camden.school_census WHERE fsm",
        ...             {spec.ref: spec}).touched()
        ['camden/school_census.fsm']
    """
    tree = _parse_single_query(sql)
    _check_nodes(tree)
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    used = _check_tables(tree, tables, cte_names, who)
    qualified = _qualify(tree, {ref: tables[ref] for ref in used}, who)
    _check_nodes(qualified)  # star expansion must not bring in anything new
    columns = {ref: set() for ref in used}
    for ref, names in _check_columns(qualified, tables, who).items():
        columns.setdefault(ref, set()).update(names)
    return CheckedQuery(text=sql, tree=qualified, columns=columns)


# -- parsing --------------------------------------------------------------------------------


def _parse_single_query(sql: str) -> exp.Query:
    if not sql or not sql.strip():
        raise QueryRefused("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except (ParseError, SqlglotError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise QueryRefused(f"the SQL could not be read ({first})") from exc
    if len(statements) != 1:
        raise QueryRefused(f"only one statement is allowed, and this text holds {len(statements)}")
    statement = statements[0]
    if not isinstance(statement, exp.Query) or isinstance(statement, exp.Values):
        kind = (
            statement.key.upper()
            if not isinstance(statement, exp.Command)
            else (str(statement.this).upper())
        )
        raise QueryRefused(f"only a SELECT query is allowed, not {kind}")
    return statement


def _check_nodes(tree: exp.Expression) -> None:
    for node in tree.walk():
        if isinstance(node, exp.Star) and not _star_allowed(node):
            raise QueryRefused("* is only allowed as SELECT * or COUNT(*)")
        if is_allowed(node):
            continue
        if isinstance(node, exp.Func | exp.Anonymous):
            name = function_name(node)
            why = family_reason(name)
            detail = f" (it {why})" if why else ""
            raise QueryRefused(f"the function {name}() is not allowed{detail}")
        if isinstance(node, exp.TableColumn):
            raise QueryRefused(
                f"{node.name} names a whole table row; select its columns one by one"
            )
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise QueryRefused("query parameters are not allowed: write the values in the SQL")
        raise QueryRefused(f"the SQL construct {node.key.upper()} is not allowed")


def _star_allowed(node: exp.Star) -> bool:
    parent = node.parent
    return isinstance(parent, exp.Select | exp.Count | exp.Column)


# -- tables ---------------------------------------------------------------------------------


def _check_tables(
    tree: exp.Expression, tables: dict[str, TableSpec], cte_names: set[str], who: str
) -> set[str]:
    used: set[str] = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRefused("only datasets can be read: table functions are not allowed")
        name = table.name.lower()
        db = table.db.lower() if table.db else ""
        if table.catalog:
            raise QueryRefused(
                f"{table.sql(dialect=DIALECT)} names a catalogue: write member.dataset"
            )
        if _is_system(db, name):
            shown = f"{db}.{name}" if db else name
            raise QueryRefused(
                f"{shown} is a system catalogue; only datasets the agreement shares can be read"
            )
        if not db:
            if name in cte_names:
                continue
            raise QueryRefused(
                f"{name} is not a dataset: name tables as member.dataset, e.g. camden.school_census"
            )
        ref = f"{db}/{name}"
        if ref not in tables:
            raise QueryRefused(f"the dataset {ref} is not shared with {who}")
        used.add(ref)
    if not used:
        raise QueryRefused("the query reads no dataset")
    return used


def _is_system(db: str, name: str) -> bool:
    return db in SYSTEM_SCHEMAS or name.startswith(SYSTEM_PREFIXES) or name == "sqlite_master"


# -- columns --------------------------------------------------------------------------------


def _qualify(tree: exp.Query, tables: dict[str, TableSpec], who: str) -> exp.Query:
    """Qualify ``tree`` in place (the caller's parse is not used again)."""
    try:
        qualified = qualify(
            tree,
            schema=_schema(
                tuple(
                    (
                        spec.member,
                        spec.name,
                        tuple((c, t) for c, t in sorted(spec.columns.items()) if c in spec.granted),
                    )
                    for spec in sorted(tables.values(), key=lambda s: s.ref)
                )
            ),
            dialect=DIALECT,
            validate_qualify_columns=True,
            quote_identifiers=False,
            identify=False,
        )
    except OptimizeError as exc:
        raise QueryRefused(_column_reason(str(exc), tables, who)) from exc
    except SqlglotError as exc:
        raise QueryRefused(f"the SQL could not be checked ({exc})") from exc
    assert isinstance(qualified, exp.Query)
    return qualified


@lru_cache(maxsize=256)
def _schema(tables: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]) -> MappingSchema:
    """(member, dataset, granted (column, type) pairs) as sqlglot's schema, built once per set
    of tables: normalising a schema costs about as much as qualifying a small query."""
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for member, name, columns in tables:
        schema.setdefault(member, {})[name] = dict(columns)
    return MappingSchema(schema, dialect=DIALECT)


def _column_reason(message: str, tables: dict[str, TableSpec], who: str) -> str:
    column = None
    if "could not be resolved" in message and "'" in message:
        column = message.split("'")[1].lower()
    elif message.startswith("Unknown column:"):
        column = message.split(":", 1)[1].strip().split()[0].strip("'\"").lower()
    if column:
        for spec in tables.values():
            if column in spec.columns and column not in spec.granted:
                return f"the column {column} of {spec.ref} is not granted to {who}"
        if any(column in spec.granted for spec in tables.values()):
            return f"the column {column} is ambiguous or out of reach here: write table.{column}"
        return f"no granted dataset has a column called {column}"
    if "Unknown table" in message or "Unknown" in message:
        return message
    return f"the query could not be checked: {message.splitlines()[0]}"


def _check_columns(tree: exp.Query, tables: dict[str, TableSpec], who: str) -> dict[str, set[str]]:
    touched: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        outputs = {s.alias_or_name.lower() for s in _projections(scope)}
        source_names = {name.lower() for name in scope.sources}
        for column in scope.expression.find_all(exp.Column):
            if _inner_scope_column(column, scope):
                continue
            table = column.table.lower()
            name = column.name.lower()
            if not table:
                if name in source_names:
                    raise QueryRefused(
                        f"{name} is the name of a table in the query; use it for a column "
                        "only as table.column"
                    )
                for spec in tables.values():
                    if name in spec.columns and name not in spec.granted:
                        raise QueryRefused(
                            f"the column {name} of {spec.ref} is not granted to {who}"
                        )
                if _in_projection(column, scope) or name not in outputs:
                    raise QueryRefused(
                        f"{name} could not be matched to a column of a granted dataset"
                    )
                continue  # a reference to an output alias, checked where it is defined
            source = scope.sources.get(column.table) or scope.sources.get(table)
            if source is None:
                raise QueryRefused(f"{table}.{name} refers to no table of the query")
            if isinstance(source, exp.Table):
                ref = f"{source.db.lower()}/{source.name.lower()}"
                spec = tables.get(ref)
                if spec is None:
                    raise QueryRefused(f"the dataset {ref} is not shared with {who}")
                if name not in spec.granted:
                    raise QueryRefused(f"the column {name} of {ref} is not granted to {who}")
                touched.setdefault(ref, set()).add(name)
            elif isinstance(source, Scope) and name not in {
                s.lower() for s in _named_outputs(source)
            }:
                raise QueryRefused(f"{table}.{name} is not a column of {table}")
    return touched


def _projections(scope: Scope) -> list[exp.Expression]:
    expression = scope.expression
    return list(expression.expressions) if isinstance(expression, exp.Select) else []


def _named_outputs(scope: Scope) -> list[str]:
    expression = scope.expression
    if isinstance(expression, exp.Query):
        return list(expression.named_selects)
    return []


def _in_projection(column: exp.Column, scope: Scope) -> bool:
    node: exp.Expression | None = column
    while node is not None and node is not scope.expression:
        if node.parent is scope.expression and node.arg_key == "expressions":
            return True
        node = node.parent
    return False


def _inner_scope_column(column: exp.Column, scope: Scope) -> bool:
    """Whether ``column`` belongs to a nested query (checked in its own scope)."""
    node = column.parent
    while node is not None and node is not scope.expression:
        if isinstance(node, exp.Query):
            return True
        node = node.parent
    return False


def root_scope(tree: exp.Query) -> Scope:
    scope = build_scope(tree)
    if scope is None:  # pragma: no cover - a checked query always has a scope
        raise QueryRefused("the query could not be analysed")
    return scope


def check_row_scope(predicate: str, columns: set[str]) -> str:
    """Check an agreement's row scope (a predicate over a dataset's own columns); return it as
    DuckDB SQL. Refused like a query: allow-listed nodes only, known columns only."""
    try:
        tree = sqlglot.parse_one(predicate, read=DIALECT, into=exp.Condition)
    except (ParseError, SqlglotError) as exc:
        raise QueryRefused(
            f"the agreement's row scope cannot be read: {predicate!r}", lock="during"
        ) from exc
    for node in tree.walk():
        if isinstance(node, exp.Query) or not is_allowed(node):
            raise QueryRefused(
                f"the agreement's row scope uses {node.key.upper()}, which is not allowed",
                lock="during",
            )
    for column in tree.find_all(exp.Column):
        if column.table or column.name.lower() not in columns:
            raise QueryRefused(
                f"the agreement's row scope names {column.sql()}, which is not a column of the "
                "dataset",
                lock="during",
            )
    for column in tree.find_all(exp.Column):
        column.replace(exp.column(column.name.lower(), table="d", quoted=True))
    return tree.sql(dialect=DIALECT, comments=False)
