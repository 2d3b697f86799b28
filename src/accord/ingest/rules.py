"""The checks an ingest runs: a registry of small rules, each one function.

A rule looks at one contract field (a :class:`Target`) and returns a :class:`Finding` — a DuckDB
SQL boolean that is true for a bad row, and the reason shown to the data owner — or ``None``
when it does not apply to that field. Row rules see one row at a time; *set* rules (uniqueness)
see all rows that passed the row rules and may use window functions. A set rule about repeated
values names them as its ``key``: the repeats are then found with a hash aggregate over the key
alone (far cheaper than a window over every row), and its SQL may use ``__first``, the number
of the first good row with the same key.

A trust adds its own check the same way the built-ins are added:

Examples:
    >>> from accord.ingest.rules import Finding, register_rule
    >>> @register_rule("no_test_records")  # doctest: +SKIP
    ... def no_test_records(t):
    ...     if t.field.accord.role != "family_name":
    ...         return None
    ...     return Finding(f"upper({t.text}) = 'TEST'", "looks like a test record")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from accord.catalogue.contract import Contract, FieldSpec, Role
from accord.core.engine.sql import lit
from accord.ingest.casts import POSTCODE_SHAPE, date_shape, human_format, sql_type

Stage = Literal["row", "set"]


@dataclass(frozen=True)
class Target:
    """One contract field as the validation query sees it.

    ``text`` is a SQL name for the cleaned text (NULL when missing); ``value`` for the typed
    value (NULL when missing or not of the field's type); ``values`` maps every field name to
    its typed value, for rules over several fields (a composite primary key); ``digits``, for
    an NHS number field, the value as an integer when it is ten digits (NULL otherwise);
    ``well_formed``, for an NHS number or postcode field, a SQL boolean that is true when the
    value was already in standard form before normalising (false when not known: test again).
    """

    field: FieldSpec
    contract: Contract
    text: str
    value: str
    values: Mapping[str, str]
    digits: str | None = None  # for an NHS number: its ten digits as a BIGINT, else NULL
    well_formed: str = "false"

    @property
    def sql_type(self) -> str:
        return sql_type(self.field)

    def typed_literal(self, value: object) -> str:
        return f"CAST({lit(value)} AS {self.sql_type})"


@dataclass(frozen=True)
class Finding:
    """What a rule found to check: ``bad`` is true for a row that breaks it.

    ``reason`` is the text counted and shown; ``reason_sql`` (optional) a SQL expression giving
    a more precise reason per row, e.g. "duplicate of row 17". ``field`` overrides the field
    named in quarantine (e.g. "family_name+date_of_birth" for a composite key). ``key`` (set
    rules only) lists the SQL values whose repeats the rule is about; ``bad`` and
    ``reason_sql`` are then evaluated only on rows whose key repeats, with ``__first`` the
    number of the first good row holding that key.
    """

    bad: str
    reason: str
    reason_sql: str | None = None
    field: str | None = None
    key: tuple[str, ...] | None = None


RuleFunction = Callable[[Target], Finding | None]


@dataclass(frozen=True)
class Rule:
    code: str
    stage: Stage
    check: RuleFunction


RULES: dict[str, Rule] = {}


def register_rule(code: str, stage: Stage = "row") -> Callable[[RuleFunction], RuleFunction]:
    """Add a rule to the registry under ``code`` (replacing a rule of the same code)."""

    def add(function: RuleFunction) -> RuleFunction:
        RULES[code] = Rule(code, stage, function)
        return function

    return add


def _is_key(t: Target) -> bool:
    return t.field.name in t.contract.primary_key


# -- row rules ---------------------------------------------------------------------------------


@register_rule("required")
def required(t: Target) -> Finding | None:
    if not (t.field.constraints.required or _is_key(t)):
        return None
    why = "part of the primary key" if _is_key(t) else "required"
    return Finding(f"{t.text} IS NULL", f"missing, but the field is {why}")


_TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "year": "a four-digit year",
    "string": "text",
}


@register_rule("type")
def type_(t: Target) -> Finding | None:
    spec = t.field
    if spec.type == "string":
        return None
    shape = date_shape(spec)
    if shape is not None:
        if spec.format != "default":
            form = human_format(spec.format)
        else:
            form = "YYYY-MM-DD" if spec.type == "date" else "YYYY-MM-DDThh:mm:ss"
        # A value of the right shape that is not a date is the `date` rule's business.
        return Finding(
            f"{t.text} IS NOT NULL AND {t.value} IS NULL "
            f"AND NOT regexp_full_match(trim({t.text}), {lit(shape)})",
            f"not a {spec.type} in the form {form}",
        )
    if spec.type == "boolean":
        allowed = ", ".join([*spec.trueValues, *spec.falseValues])
        return Finding(f"{t.text} IS NOT NULL AND {t.value} IS NULL", f"not one of {allowed}")
    if spec.type in ("date", "datetime"):
        return Finding(f"{t.text} IS NOT NULL AND {t.value} IS NULL", f"not a {spec.type}")
    return Finding(f"{t.text} IS NOT NULL AND {t.value} IS NULL", f"not {_TYPE_WORDS[spec.type]}")


@register_rule("date")
def real_date(t: Target) -> Finding | None:
    shape = date_shape(t.field)
    if shape is None:
        return None
    return Finding(
        f"{t.text} IS NOT NULL AND {t.value} IS NULL "
        f"AND regexp_full_match(trim({t.text}), {lit(shape)})",
        f"not a real {t.field.type} (no such day or time, e.g. 31 February)",
    )


@register_rule("enum")
def enum(t: Target) -> Finding | None:
    values = t.field.constraints.enum
    if values is None:
        return None
    allowed = ", ".join(t.typed_literal(v) for v in values)
    shown = ", ".join(str(v) for v in values)
    return Finding(f"{t.value} NOT IN ({allowed})", f"not one of the allowed values ({shown})")


@register_rule("pattern")
def pattern(t: Target) -> Finding | None:
    regex = t.field.constraints.pattern
    if regex is None:
        return None
    return Finding(
        f"NOT regexp_full_match({t.text}, {lit(regex)})", f"does not match the pattern {regex}"
    )


@register_rule("minimum")
def minimum(t: Target) -> Finding | None:
    bound = t.field.constraints.minimum
    if bound is None:
        return None
    return Finding(f"{t.value} < {t.typed_literal(bound)}", f"below the minimum {bound}")


@register_rule("maximum")
def maximum(t: Target) -> Finding | None:
    bound = t.field.constraints.maximum
    if bound is None:
        return None
    return Finding(f"{t.value} > {t.typed_literal(bound)}", f"above the maximum {bound}")


@register_rule("minLength")
def min_length(t: Target) -> Finding | None:
    bound = t.field.constraints.minLength
    if bound is None:
        return None
    return Finding(f"length({t.text}) < {int(bound)}", f"shorter than {bound} characters")


@register_rule("maxLength")
def max_length(t: Target) -> Finding | None:
    bound = t.field.constraints.maxLength
    if bound is None:
        return None
    return Finding(f"length({t.text}) > {int(bound)}", f"longer than {bound} characters")


def nhs_number_valid(number: str) -> str:
    """SQL: true when ``number`` (a BIGINT of ten digits) ends in the NHS mod-11 check digit of
    its first nine digits; integer arithmetic, as this runs on every row.

    The check digit is ``11 - (w mod 11)`` (11 read as 0, and 10 meaning "no valid number")
    for ``w`` the weighted sum of the first nine digits; that is the same as ``w`` plus the
    last digit being a multiple of 11 (a last digit cannot be 10), so ``w`` is computed once.
    """
    weighted = " + ".join(f"(({number} // {10 ** (10 - i)}) % 10) * {11 - i}" for i in range(1, 10))
    return f"(({weighted} + {number} % 10) % 11 = 0)"


@register_rule("nhs_number")
def nhs_number(t: Target) -> Finding | None:
    if t.field.role != Role.nhs_number or t.digits is None:
        return None
    return Finding(
        f"{t.text} IS NOT NULL AND ({t.digits} IS NULL OR NOT {nhs_number_valid(t.digits)})",
        "not a valid NHS number (ten digits with a correct check digit)",
    )


@register_rule("postcode")
def postcode(t: Target) -> Finding | None:
    if t.field.role != Role.postcode:
        return None
    # A value already in standard form (nearly all) is not matched a second time.
    return Finding(
        f"{t.text} IS NOT NULL AND NOT {t.well_formed} "
        f"AND NOT regexp_full_match({t.text}, {lit(POSTCODE_SHAPE)})",
        "not a UK postcode",
    )


# -- set rules (see every row that passed the row rules) ---------------------------------------


@register_rule("unique", stage="set")
def unique(t: Target) -> Finding | None:
    if not t.field.constraints.unique or t.contract.primary_key == [t.field.name]:
        return None  # a one-field primary key is checked by the primary_key rule
    return Finding(
        f"{t.value} IS NOT NULL AND __row <> __first",
        "duplicate of an earlier row (the field must be unique)",
        reason_sql="'duplicate of row ' || __first",
        key=(t.value,),
    )


@register_rule("primary_key", stage="set")
def primary_key(t: Target) -> Finding | None:
    key = t.contract.primary_key
    if not key or key[0] != t.field.name:
        return None
    return Finding(
        "__row <> __first",
        "duplicate primary key (an earlier row has the same key)",
        reason_sql="'duplicate primary key of row ' || __first",
        field="+".join(key),
        key=tuple(t.values[name] for name in key),
    )


def findings(
    contract: Contract, targets: Mapping[str, Target], stage: Stage
) -> list[tuple[str, str, Finding]]:
    """Every (field label, rule code, finding) of ``stage`` for the contract's fields."""
    found: list[tuple[str, str, Finding]] = []
    for rule in RULES.values():
        if rule.stage != stage:
            continue
        for spec in contract.fields:
            finding = rule.check(targets[spec.name])
            if finding is not None:
                found.append((finding.field or spec.name, rule.code, finding))
    return found


__all__ = [
    "POSTCODE_SHAPE",
    "RULES",
    "Finding",
    "Rule",
    "Target",
    "findings",
    "nhs_number_valid",
    "register_rule",
]
