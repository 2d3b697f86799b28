"""Preparation: turn each source's own columns into the standard columns linkage compares.

Every source arrives with its own field names and formats; the contract's identifier roles say
which field is what. Preparation runs as one vectorised DuckDB query per source, so a million
records take seconds: names folded to ASCII and split, full names split into given and family,
dates of birth split into components (so transposed and mistyped dates can still be compared),
UK postcodes split into unit/sector/district/area, NHS numbers kept only when their check digit
is valid, and given names mapped to their nickname groups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.catalogue.contract import FieldSpec, Role
from accord.core.engine.prepared import run_prepared
from accord.core.engine.sql import ident, lit
from accord.linkage.names import PARTICLES, TITLES, name_group, split_full_name
from accord.linkage.source import CLEAR, LinkSource

SOURCE = "source_dataset"
RECORD = "unique_id"

# Standard columns each role yields after preparation.
ROLE_COLUMNS: dict[Role, tuple[str, ...]] = {
    Role.nhs_number: ("nhs_number",),
    Role.given_name: ("given_name", "given_group"),
    Role.middle_name: ("middle_name",),
    Role.family_name: ("family_name",),
    Role.date_of_birth: ("dob", "dob_y", "dob_m", "dob_d"),
    Role.sex: ("sex",),
    Role.postcode: ("postcode", "postcode_sector", "postcode_district", "postcode_area"),
    Role.address: ("address", "address_number"),
    Role.uprn: ("uprn",),
    Role.email: ("email",),
    Role.phone: ("phone",),
}
# Roles that give a person's identity for linkage (record_id only names a record).
LINK_ROLES = tuple(ROLE_COLUMNS)
LIST_COLUMNS = frozenset({"given_group"})

_ADDRESS_WORDS = {
    "rd": "road",
    "st": "street",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cres": "crescent",
    "cr": "crescent",
    "ct": "court",
    "pl": "place",
    "sq": "square",
    "gdns": "gardens",
    "cl": "close",
    "tce": "terrace",
    "ter": "terrace",
    "hse": "house",
    "flt": "flat",
    "apt": "flat",
    "apartment": "flat",
}


def source_roles(source: LinkSource) -> set[Role]:
    """The identity roles a source can offer after preparation (full_name gives given+family)."""
    roles = {f.role for f in source.contract.fields if f.role is not None}
    if Role.full_name in roles:
        roles |= {Role.given_name, Role.family_name}
    return {r for r in roles if r in ROLE_COLUMNS}


def standard_columns(roles: Iterable[Role]) -> list[str]:
    """Prepared column names for ``roles``, in a fixed order."""
    wanted = set(roles)
    return [SOURCE, RECORD] + [c for r in LINK_ROLES if r in wanted for c in ROLE_COLUMNS[r]]


@dataclass
class Prepared:
    """One source after preparation, and what preparation noticed about it."""

    ref: str
    table: pa.Table
    invalid_nhs_numbers: int = 0


def prepare(
    source: LinkSource, roles: Iterable[Role], con: duckdb.DuckDBPyConnection | None = None
) -> Prepared:
    """Prepare one source's records with the standard columns of ``roles``.

    A role the source does not hold gives a column of nulls, so every prepared table has the
    same columns (Splink compares them side by side).

    Examples:
        >>> prepared = prepare(source, {Role.given_name, Role.family_name})  # doctest: +SKIP
        >>> prepared.table.column_names[:3]  # doctest: +SKIP
        ['source_dataset', 'unique_id', 'given_name']
    """
    con = con or duckdb.connect()
    roles = set(roles)
    raw = source.read()
    con.register("__raw", raw)
    contract = source.contract
    by_role: dict[Role, list[FieldSpec]] = {}
    for spec in contract.fields:
        if spec.role is not None and spec.name in raw.column_names:
            by_role.setdefault(spec.role, []).append(spec)

    key_sql = " || '|' || ".join(
        f"coalesce(CAST({ident(k)} AS VARCHAR), '')" for k in source.key_fields()
    )
    select: dict[str, str] = {SOURCE: lit(source.ref), RECORD: key_sql}
    full_name = by_role.get(Role.full_name)
    full_given_sql = full_family_sql = full_middle_sql = None
    if full_name:
        _register_full_names(con, raw, full_name[0])
        full_given_sql, full_middle_sql, full_family_sql = "fn.given", "fn.middle", "fn.family"

    for role in LINK_ROLES:
        if role not in roles:
            continue
        specs = by_role.get(role, [])
        clear = source.encoding(role) == CLEAR
        if role == Role.given_name:
            if specs and clear:
                tokens = f"{_tokens(_concat(specs))}"
                select["given_name"] = f"nullif({tokens}[1], '')"
                select["__given_rest"] = f"nullif(array_to_string({tokens}[2:], ' '), '')"
            elif specs:
                select["given_name"] = _concat(specs)
            else:
                select["given_name"] = full_given_sql or "NULL::VARCHAR"
                select["__given_rest"] = full_middle_sql or "NULL::VARCHAR"
        elif role == Role.middle_name:
            if specs:
                select["middle_name"] = (
                    f"nullif(array_to_string({_tokens(_concat(specs))}, ' '), '')"
                    if clear
                    else _concat(specs)
                )
            else:
                select["middle_name"] = "NULL::VARCHAR"
        elif role == Role.family_name:
            if specs:
                select["family_name"] = (
                    f"nullif(replace({_fold(_concat(specs))}, ' ', ''), '')"
                    if clear
                    else _concat(specs)
                )
            else:
                select["family_name"] = full_family_sql or "NULL::VARCHAR"
        elif role == Role.date_of_birth:
            select.update(_dob_sql(specs[0] if specs else None, raw))
        elif role == Role.postcode:
            select.update(_postcode_sql(_concat(specs) if specs else None, clear))
        elif not specs:
            for column in ROLE_COLUMNS[role]:
                select[column] = "NULL::VARCHAR"
        elif not clear:
            select[ROLE_COLUMNS[role][0]] = _concat(specs)
            for column in ROLE_COLUMNS[role][1:]:
                select[column] = "NULL::VARCHAR"
        elif role == Role.nhs_number:
            select["nhs_number"] = _nhs_sql(_concat(specs))
        elif role == Role.sex:
            select["sex"] = _sex_sql(_concat(specs))
        elif role == Role.address:
            select["address"] = _address_sql(specs)
            # The first number (house or flat): with the family name it finds the same
            # address when the postcode is mistyped (blocking.py).
            select["address_number"] = (
                f"nullif(regexp_extract({_address_sql(specs)}, '[0-9]+'), '')"
            )
        elif role == Role.uprn:
            select["uprn"] = (
                f"nullif(ltrim(regexp_replace({_concat(specs)}, '[^0-9]', '', 'g'), '0'), '')"
            )
        elif role == Role.email:
            select["email"] = f"nullif(lower(trim({_concat(specs)})), '')"
        elif role == Role.phone:
            select["phone"] = (
                f"nullif(right(regexp_replace({_concat(specs)}, '[^0-9]', '', 'g'), 10), '')"
            )

    join = ""
    if full_name:
        raw_name = f"CAST(__raw.{ident(full_name[0].name)} AS VARCHAR)"
        join = f"LEFT JOIN __full_names AS fn ON fn.raw = {raw_name}"
    inner = ",\n  ".join(f"{sql} AS {ident(name)}" for name, sql in select.items())
    columns = standard_columns(roles)
    outer: list[str] = []
    for column in columns:
        if column == "middle_name":
            # Further given names ("Mary Jane") serve as middle names when none is recorded.
            rest = "__given_rest" if "__given_rest" in select else "NULL"
            outer.append(f"coalesce(middle_name, {rest}) AS middle_name")
        elif column != "given_group":  # added below, from the given names
            outer.append(ident(column))
    # One statement, prepared once per connection: a record arriving alone (incremental
    # matching) would otherwise pay for planning it, many times its one row's cost.
    table = run_prepared(
        con, f"SELECT {', '.join(outer)} FROM (SELECT {inner} FROM __raw {join}) ORDER BY unique_id"
    )
    if "given_group" in columns:
        table = table.add_column(
            columns.index("given_group"), "given_group", _name_groups(table.column("given_name"))
        )
    invalid = 0
    nhs_fields = by_role.get(Role.nhs_number)
    if "nhs_number" in select and nhs_fields and source.encoding(Role.nhs_number) == CLEAR:
        given = con.execute(
            "SELECT count(*) FROM __raw WHERE "
            f"nullif(trim(CAST({ident(nhs_fields[0].name)} AS VARCHAR)), '')"
            " IS NOT NULL"
        ).fetchall()[0][0]
        invalid = given - (table.num_rows - table.column("nhs_number").null_count)
    con.unregister("__raw")
    return Prepared(source.ref, table, invalid)


# -- SQL pieces ------------------------------------------------------------------------------


def _concat(specs: list[FieldSpec]) -> str:
    parts = [f"CAST({ident(s.name)} AS VARCHAR)" for s in specs]
    return parts[0] if len(parts) == 1 else f"concat_ws(' ', {', '.join(parts)})"


def _fold(expr: str) -> str:
    # ASCII lower-case letters; hyphens/apostrophes/dots join, anything else separates.
    joined = f"regexp_replace(lower(strip_accents({expr})), '[''’`\\-\\.]', '', 'g')"
    return f"trim(regexp_replace(regexp_replace({joined}, '[^a-z ]+', ' ', 'g'), ' +', ' ', 'g'))"


def _tokens(expr: str) -> str:
    titles = ", ".join(f"'{t}'" for t in sorted(TITLES))
    keep = f"lambda t: t <> '' AND NOT list_contains([{titles}], t)"
    return f"list_filter(string_split({_fold(expr)}, ' '), {keep})"


def _nhs_sql(expr: str) -> str:
    """Valid NHS numbers only, by the rules of the ``nhs-number`` package (checked in a test):
    ten digits, modulus 11 check digit, and in the Scottish CHI range a real DDMMYY date."""
    digits = f"regexp_replace({expr}, '[^0-9]', '', 'g')"
    # Modulus 11 check digit: weights 10..2 on the first nine digits.
    weighted = " + ".join(f"{10 - i} * CAST(substr(d, {i + 1}, 1) AS INTEGER)" for i in range(9))
    chi = (
        "(CAST(d AS BIGINT) NOT BETWEEN 100000000 AND 3112999999 "
        "OR try_strptime(substr(d, 1, 6), '%d%m%y') IS NOT NULL)"
    )
    return (
        f"(SELECT CASE WHEN length(d) = 10 AND "
        f"(11 - (({weighted}) % 11)) % 11 = CAST(substr(d, 10, 1) AS INTEGER) "
        f"AND (11 - (({weighted}) % 11)) <> 10 AND {chi} "
        f"THEN d END FROM (SELECT {digits} AS d))"
    )


def _sex_sql(expr: str) -> str:
    first = f"lower(left(trim({expr}), 1))"
    return f"CASE WHEN {first} IN ('m', '1') THEN 'm' WHEN {first} IN ('f', '2') THEN 'f' END"


def _address_sql(specs: list[FieldSpec]) -> str:
    folded = _fold(_concat(specs).replace("concat_ws(' ',", "concat_ws(' ',"))
    # fold() drops digits; keep them for house numbers.
    keep = f"lower(strip_accents({_concat(specs)}))"
    text = f"trim(regexp_replace(regexp_replace({keep}, '[^a-z0-9 ]+', ' ', 'g'), ' +', ' ', 'g'))"
    # The text is now words of [a-z0-9] between single spaces, so replacing a whole word
    # (what a regular expression between word boundaries did, once per abbreviation) is one
    # CASE per word; no expansion is itself an abbreviation, so the order does not matter.
    cases = " ".join(f"WHEN '{short}' THEN '{long}'" for short, long in _ADDRESS_WORDS.items())
    words = f"list_transform(string_split({text}, ' '), lambda w: CASE w {cases} ELSE w END)"
    del folded
    return f"nullif(array_to_string({words}, ' '), '')"


def _postcode_sql(expr: str | None, clear: bool) -> dict[str, str]:
    if expr is None:
        return {c: "NULL::VARCHAR" for c in ROLE_COLUMNS[Role.postcode]}
    if not clear:
        return {
            "postcode": expr,
            "postcode_sector": "NULL::VARCHAR",
            "postcode_district": "NULL::VARCHAR",
            "postcode_area": "NULL::VARCHAR",
        }
    c = f"regexp_replace(upper({expr}), '[^A-Z0-9]', '', 'g')"
    uk = f"regexp_matches({c}, '^[A-Z]{{1,2}}[0-9][A-Z0-9]?[0-9][A-Z]{{2}}$')"
    outward = f"left({c}, length({c}) - 3)"
    inward = f"right({c}, 3)"
    return {
        "postcode": f"nullif(CASE WHEN {uk} THEN {outward} || ' ' || {inward} ELSE {c} END, '')",
        "postcode_sector": f"CASE WHEN {uk} THEN {outward} || ' ' || substr({inward}, 1, 1) END",
        "postcode_district": f"CASE WHEN {uk} THEN {outward} END",
        "postcode_area": f"CASE WHEN {uk} THEN regexp_extract({c}, '^[A-Z]+') END",
    }


_DIRECTIVES = {
    "%Y": ("y", r"(\d{4})"),
    "%m": ("m", r"(\d{1,2})"),
    "%d": ("d", r"(\d{1,2})"),
    "%y": ("yy", r"(\d{2})"),
    "%b": ("b", r"([A-Za-z]{3})"),
}


def _dob_sql(spec: FieldSpec | None, raw: pa.Table) -> dict[str, str]:
    if spec is None:
        return {c: "NULL::VARCHAR" for c in ROLE_COLUMNS[Role.date_of_birth]}
    column = ident(spec.name)
    arrow_type = raw.schema.field(spec.name).type
    if pa.types.is_date(arrow_type) or pa.types.is_timestamp(arrow_type):
        y, m, d = (
            f"CAST(year({column}) AS VARCHAR)",
            f"CAST(month({column}) AS VARCHAR)",
            f"CAST(day({column}) AS VARCHAR)",
        )
    else:
        fmt = spec.format if spec.format not in ("default", "any", "") else "%Y-%m-%d"
        pattern, order = _format_regex(fmt)
        text = f"trim(CAST({column} AS VARCHAR))"
        groups = {
            name: f"nullif(regexp_extract({text}, '{pattern}', {i + 1}), '')"
            for i, name in enumerate(order)
        }
        y = groups.get("y") or (
            f"CASE WHEN CAST({groups['yy']} AS INTEGER) > year(current_date) % 100 "
            f"THEN '19' ELSE '20' END || {groups['yy']}"
            if "yy" in groups
            else "NULL"
        )
        m, d = groups.get("m", "NULL"), groups.get("d", "NULL")
    y2, m2, d2 = f"lpad({y}, 4, '0')", f"lpad({m}, 2, '0')", f"lpad({d}, 2, '0')"
    return {
        "dob": f"CASE WHEN {y} IS NOT NULL AND {m} IS NOT NULL AND {d} IS NOT NULL "
        f"THEN {y2} || '-' || {m2} || '-' || {d2} END",
        "dob_y": y2,
        "dob_m": m2,
        "dob_d": d2,
    }


def _format_regex(fmt: str) -> tuple[str, list[str]]:
    pattern, order, i = "^", [], 0
    while i < len(fmt):
        directive = fmt[i : i + 2]
        if directive in _DIRECTIVES:
            name, group = _DIRECTIVES[directive]
            pattern += group
            order.append(name)
            i += 2
        else:
            pattern += re.escape(fmt[i]).replace("'", "''")
            i += 1
    return pattern, order


def _name_groups(given: pa.ChunkedArray) -> pa.Array:
    """The nickname group of each given name (null where the name is null), looked up once per
    distinct name."""
    names = pc.drop_null(pc.unique(given))
    groups = pa.array([list(name_group(n) or ()) for n in names.to_pylist()], pa.list_(pa.string()))
    return pc.take(groups, pc.index_in(given, value_set=names)).combine_chunks()


def _register_full_names(con: duckdb.DuckDBPyConnection, raw: pa.Table, spec: FieldSpec) -> None:
    values = con.execute(
        f"SELECT DISTINCT CAST({ident(spec.name)} AS VARCHAR) FROM __raw "
        f"WHERE {ident(spec.name)} IS NOT NULL"
    ).fetchall()
    rows = [(v[0], *split_full_name(v[0])) for v in values]
    table = pa.table(
        {
            "raw": pa.array([r[0] for r in rows], pa.string()),
            "given": pa.array([r[1] for r in rows], pa.string()),
            "middle": pa.array([r[2] for r in rows], pa.string()),
            "family": pa.array([r[3] for r in rows], pa.string()),
        }
    )
    con.register("__full_names_arrow", table)
    con.execute("CREATE OR REPLACE TEMP TABLE __full_names AS SELECT * FROM __full_names_arrow")
    con.unregister("__full_names_arrow")


__all__ = ["LINK_ROLES", "PARTICLES", "ROLE_COLUMNS", "Prepared", "prepare", "source_roles"]
