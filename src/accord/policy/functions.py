"""The allow-list of SQL a recipient may write: syntax nodes, functions and aggregates.

Deny by default: a node of the parsed query whose class is not named here is refused, so a new
construct (a table function, a lambda, a file reader, a catalogue function) is refused until
someone decides it is safe and adds it. The lists are of sqlglot expression classes, so the
check does not depend on the engine that later runs the query.
"""

from __future__ import annotations

from sqlglot import exp

# The shape of a query: clauses, names, literals, operators.
SYNTAX: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Select,
        exp.Union,
        exp.Intersect,
        exp.Except,
        exp.With,
        exp.CTE,
        exp.Subquery,
        exp.From,
        exp.Join,
        exp.Where,
        exp.Group,
        exp.Having,
        exp.Qualify,
        exp.Order,
        exp.Ordered,
        exp.Limit,
        exp.Offset,
        exp.Distinct,
        exp.Table,
        exp.TableAlias,
        exp.Alias,
        exp.Column,
        exp.Identifier,
        exp.Star,
        exp.Literal,
        exp.Boolean,
        exp.Null,
        exp.Paren,
        exp.Tuple,
        exp.DataType,
        exp.DataTypeParam,
        exp.Interval,
        exp.Var,
        exp.Window,
        exp.WindowSpec,
        exp.Filter,
        exp.IgnoreNulls,
        # operators
        exp.And,
        exp.Or,
        exp.Not,
        exp.Neg,
        exp.EQ,
        exp.NEQ,
        exp.GT,
        exp.GTE,
        exp.LT,
        exp.LTE,
        exp.NullSafeEQ,
        exp.NullSafeNEQ,
        exp.Is,
        exp.In,
        exp.Between,
        exp.Exists,
        exp.Like,
        exp.ILike,
        exp.Add,
        exp.Sub,
        exp.Mul,
        exp.Div,
        exp.IntDiv,
        exp.Mod,
        exp.DPipe,
        exp.Case,
        exp.If,
        exp.Cast,
        exp.TryCast,
    }
)

# Scalar functions: text, numbers, dates, conditionals. Nothing that reads files, settings,
# the catalogue or the environment.
SCALAR_FUNCTIONS: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Coalesce,
        exp.Nullif,
        exp.Greatest,
        exp.Least,
        exp.Abs,
        exp.Round,
        exp.Floor,
        exp.Ceil,
        exp.Sqrt,
        exp.Ln,
        exp.Log,
        exp.Exp,
        exp.Pow,
        exp.Sign,
        exp.Upper,
        exp.Lower,
        exp.Trim,
        exp.Length,
        exp.Substring,
        exp.Left,
        exp.Right,
        exp.Concat,
        exp.ConcatWs,
        exp.StrPosition,
        exp.RegexpLike,
        exp.StartsWith,
        exp.Initcap,
        exp.Pad,
        exp.Year,
        exp.Month,
        exp.Day,
        exp.Quarter,
        exp.DayOfWeek,
        exp.Extract,
        exp.DateDiff,
        exp.DateAdd,
        exp.DateSub,
        exp.DateTrunc,
        exp.TimestampTrunc,
        exp.TimeToStr,
        exp.StrToDate,
        exp.CurrentDate,
        exp.ToDays,
    }
)

# Functions that sqlglot does not model and parses by name (exp.Anonymous); lower case.
NAMED_FUNCTIONS: frozenset[str] = frozenset(
    {"age", "date_part", "datepart", "strip_accents", "nfc_normalize", "bit_length", "ifnull"}
)

# Aggregates that summarise many people into one number.
AGGREGATES: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Count,
        exp.Sum,
        exp.Avg,
        exp.CountIf,
        exp.Stddev,
        exp.StddevPop,
        exp.StddevSamp,
        exp.Variance,
        exp.VariancePop,
    }
)

# Aggregates whose value is one person's own value (the smallest, largest, middle, any, first):
# allowed inside a query, never as a released aggregate (SACRO: no minima or maxima).
PERSON_LEVEL_AGGREGATES: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.Min,
        exp.Max,
        exp.Median,
        exp.PercentileCont,
        exp.PercentileDisc,
        exp.Quantile,
        exp.AnyValue,
        exp.First,
        exp.Last,
        exp.ArgMax,
        exp.ArgMin,
        exp.Mode,
    }
)

# Window functions (ranking and neighbours) over rows of granted data.
WINDOW_FUNCTIONS: frozenset[type[exp.Expression]] = frozenset(
    {
        exp.RowNumber,
        exp.Rank,
        exp.DenseRank,
        exp.Lag,
        exp.Lead,
        exp.Ntile,
        exp.PercentRank,
        exp.CumeDist,
    }
)

ALL_AGGREGATES = AGGREGATES | PERSON_LEVEL_AGGREGATES
ALLOWED: frozenset[type[exp.Expression]] = (
    SYNTAX | SCALAR_FUNCTIONS | AGGREGATES | PERSON_LEVEL_AGGREGATES | WINDOW_FUNCTIONS
)

# Function families that are refused with a named reason (the allow-list refuses them anyway;
# the name makes the refusal clear to the person who tried).
FORBIDDEN_FAMILIES: dict[str, str] = {
    "read_": "reads files",
    "glob": "lists files",
    "parquet_": "reads files",
    "duckdb_": "reads the engine's catalogue",
    "pragma_": "reads the engine's settings",
    "current_setting": "reads the engine's settings",
    "getenv": "reads the environment",
    "sqlite_": "reads the engine's catalogue",
    "pg_": "reads the engine's catalogue",
    "query": "runs SQL given as text",
    "json_": "reads or builds JSON documents",
    "http": "reaches the network",
    "sniff": "reads files",
}


def is_allowed(node: exp.Expression) -> bool:
    """Whether one parsed node is on the allow-list."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower() in NAMED_FUNCTIONS
    return type(node) in ALLOWED


def function_name(node: exp.Expression) -> str:
    """The name a user wrote for a function node, for messages."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__


def family_reason(name: str) -> str | None:
    """Why a function family is refused, when its name tells."""
    for prefix, why in FORBIDDEN_FAMILIES.items():
        if name.startswith(prefix):
            return why
    return None
