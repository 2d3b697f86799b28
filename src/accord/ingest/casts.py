"""From source text to the contract's types, as DuckDB SQL expressions.

Every source column is first made *text* (missing values become NULL, identifier roles are
normalised: NHS numbers lose their spaces, postcodes become upper case with one space), then
*typed* with the contract's type and format. A value that is present but cannot be typed gives
a NULL typed value, which the ``type`` rule reports.
"""

from __future__ import annotations

import re

from accord.catalogue.contract import FieldSpec, Role
from accord.core.engine.sql import ident, lit, lit_list

SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "year": "INTEGER",
}

ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
ISO_DATETIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?"
)
# The standard shape of a UK postcode (outward code, space, inward code), after normalising to
# upper case with one space; GIR 0AA is Girobank's historic non-geographic code.
POSTCODE_SHAPE = r"([A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2})|(GIR 0AA)"
NHS_SHAPE = "[0-9]{10}"

# Formats tried, in order, for Frictionless `format: any` dates (UK day-first before US).
ANY_DATE_FORMATS = [
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%Y%m%d",
]

# strptime directives -> the shape of the text they accept, to tell "not a date in this
# format" from "a date that does not exist" (31/02/2020).
_DIRECTIVE_SHAPES = {
    "d": "[0-9]{1,2}",
    "m": "[0-9]{1,2}",
    "Y": "[0-9]{4}",
    "y": "[0-9]{2}",
    "H": "[0-9]{1,2}",
    "I": "[0-9]{1,2}",
    "M": "[0-9]{1,2}",
    "S": "[0-9]{1,2}",
    "f": "[0-9]{1,9}",
    "j": "[0-9]{1,3}",
    "b": "[A-Za-z]{3}",
    "B": "[A-Za-z]+",
    "a": "[A-Za-z]{3}",
    "A": "[A-Za-z]+",
    "p": "[AaPp][Mm]",
    "z": "[+-][0-9]{2}:?[0-9]{2}|Z",
    "Z": "[A-Za-z]+",
    "%": "%",
}


_HUMAN = {"%d": "DD", "%m": "MM", "%Y": "YYYY", "%y": "YY", "%H": "hh", "%M": "mm", "%S": "ss"}


def human_format(fmt: str) -> str:
    """``%d/%m/%Y`` as a person writes it: ``DD/MM/YYYY``."""
    for code, word in _HUMAN.items():
        fmt = fmt.replace(code, word)
    return fmt


def sql_type(spec: FieldSpec) -> str:
    return SQL_TYPES[spec.type]


def strptime_shape(fmt: str) -> str:
    """A regular expression for the text a strptime format accepts (digits, not values)."""
    out: list[str] = []
    i = 0
    while i < len(fmt):
        char = fmt[i]
        if char == "%" and i + 1 < len(fmt):
            out.append("(" + _DIRECTIVE_SHAPES.get(fmt[i + 1], ".+?") + ")")
            i += 2
        else:
            out.append(re.escape(char))
            i += 1
    return "".join(out)


def date_shape(spec: FieldSpec) -> str | None:
    """The shape regex of a date/datetime field's format, or None when any shape is allowed."""
    if spec.type not in ("date", "datetime"):
        return None
    if spec.format == "default":
        return ISO_DATE if spec.type == "date" else ISO_DATETIME
    if spec.format == "any":
        return None
    return strptime_shape(spec.format)


def clean_expr(raw: str, missing_values: list[str]) -> str:
    """A raw text value, or NULL when it is one of the contract's missing values."""
    others = [m for m in missing_values if m != ""]
    whens = [f"WHEN {raw} IN ({lit_list(others)}) THEN NULL"] if others else []
    if "" in missing_values:
        # A cell holding only spaces is as empty as an empty one (a common spreadsheet export).
        # Most values start with a visible character (a first byte above '!', compared as
        # bytes, which is cheap) and are settled by that; only the rest are trimmed.
        whens += [f"WHEN {raw} >= '!' THEN {raw}", f"WHEN trim({raw}) = '' THEN NULL"]
    return f"CASE {' '.join(whens)} ELSE {raw} END" if whens else raw


def has_standard_form(spec: FieldSpec) -> bool:
    """Whether a field's identifier role has a standard written form (NHS number, postcode)."""
    return spec.role in (Role.nhs_number, Role.postcode)


def well_formed_expr(spec: FieldSpec, text: str) -> str | None:
    """SQL: true when a cleaned identifier is already in its standard form (most values are), so
    normalising keeps it as it is and its role's rule needs no second test; None for a field
    without such a form."""
    if spec.role == Role.nhs_number:
        return f"regexp_full_match({text}, {lit(NHS_SHAPE)})"
    if spec.role == Role.postcode:
        return f"regexp_full_match({text}, {lit(POSTCODE_SHAPE)})"
    return None


def normalise_expr(spec: FieldSpec, text: str, well_formed: str | None = None) -> str:
    """A cleaned text value normalised for its identifier role (itself for other fields);
    ``well_formed`` names the :func:`well_formed_expr` of ``text`` where it is computed."""
    keep = f"WHEN {well_formed} THEN {text} " if well_formed else ""
    if spec.role == Role.nhs_number:
        # Most numbers are written without separators: replace only where there are some.
        return (
            f"CASE {keep}WHEN contains({text}, ' ') OR contains({text}, '-') "
            f"THEN replace(replace({text}, ' ', ''), '-', '') ELSE {text} END"
        )
    if spec.role == Role.postcode:
        # Upper case with one space before the inward code. A postcode already written so
        # is kept as it is, without rebuilding it.
        written_well = (
            f"length({text}) BETWEEN 6 AND 8 AND strpos({text}, ' ') = length({text}) - 3 "
            f"AND NOT contains(right({text}, 3), ' ') AND {text} = upper({text})"
        )
        squeezed = f"replace(upper({text}), ' ', '')"
        return (
            f"CASE {keep}WHEN {written_well} THEN {text} "
            f"WHEN length({squeezed}) BETWEEN 5 AND 7 "
            f"THEN left({squeezed}, length({squeezed}) - 3) || ' ' || right({squeezed}, 3) "
            f"ELSE {squeezed} END"
        )
    return text


def text_expr(spec: FieldSpec, raw: str, missing_values: list[str]) -> str:
    """The cleaned text of a value: NULL when missing, normalised for its identifier role."""
    return normalise_expr(spec, clean_expr(raw, missing_values))


def text_keeps_raw(spec: FieldSpec) -> bool:
    """Whether a field's cleaned text is always its raw text or NULL (no normalising role)."""
    return spec.role not in (Role.nhs_number, Role.postcode)


def trimmed(text: str) -> str:
    """``trim(text)``, which DuckDB computes (a copy) only where there is a space to remove."""
    return f"CASE WHEN prefix({text}, ' ') OR suffix({text}, ' ') THEN trim({text}) ELSE {text} END"


def typed_expr(spec: FieldSpec, text: str, *, is_trimmed: bool = False) -> str:
    """The typed value of a cleaned text value (NULL when it is not of the field's type);
    ``is_trimmed`` says ``text`` has no surrounding spaces already."""
    t = text if is_trimmed else f"trim({text})"
    match spec.type:
        case "string":
            return text
        case "integer":
            # TRY_CAST('1.5' AS BIGINT) rounds in DuckDB; an integer must be written as one.
            return (
                f"CASE WHEN regexp_full_match({t}, '[+-]?[0-9]+') THEN TRY_CAST({t} AS BIGINT) END"
            )
        case "number":
            return f"TRY_CAST({t} AS DOUBLE)"
        case "year":
            return (
                f"CASE WHEN regexp_full_match({t}, '[0-9]{{4}}') THEN TRY_CAST({t} AS INTEGER) END"
            )
        case "boolean":
            return (
                f"CASE WHEN {t} IN ({lit_list(spec.trueValues)}) THEN TRUE "
                f"WHEN {t} IN ({lit_list(spec.falseValues)}) THEN FALSE END"
            )
        case "date":
            return _date_expr(spec, t, "DATE")
        case "datetime":
            return _date_expr(spec, t, "TIMESTAMP")
    raise ValueError(f"unknown type {spec.type}")  # pragma: no cover - the contract forbids it


def _date_expr(spec: FieldSpec, t: str, target: str) -> str:
    if spec.format == "default":
        shape = ISO_DATE if target == "DATE" else ISO_DATETIME
        return f"CASE WHEN regexp_full_match({t}, {lit(shape)}) THEN TRY_CAST({t} AS {target}) END"
    if spec.format == "any":
        tries = [f"try_strptime({t}, {lit(f)})" for f in ANY_DATE_FORMATS]
        return f"CAST(COALESCE(TRY_CAST({t} AS TIMESTAMP), {', '.join(tries)}) AS {target})"
    return f"CAST(try_strptime({t}, {lit(spec.format)}) AS {target})"


def typed_from_native(spec: FieldSpec, column: str, source_type: str) -> str:
    """Typed value of a column that already has a type (Parquet, Arrow): a plain try-cast."""
    target = sql_type(spec)
    if source_type.upper() == target:
        return column
    if spec.type in ("date", "datetime") and source_type.upper().startswith(("TIMESTAMP", "DATE")):
        return f"CAST({column} AS {target})"
    if spec.type == "integer" and source_type.upper().startswith(("DOUBLE", "FLOAT", "DECIMAL")):
        return f"CASE WHEN {column} = floor({column}) THEN TRY_CAST({column} AS BIGINT) END"
    return f"TRY_CAST({column} AS {target})"


def source_column(name: str) -> str:
    return ident(name)
