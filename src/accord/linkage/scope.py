"""What an agreement lets linkage read of each dataset: its shared fields and in-scope rows.

Records outside an agreement's row scope are not shared, so linkage never reads them (data
minimisation); nor does it read fields the agreement does not share. The row scope is checked
and applied by the same code that prepares data for queries (``accord.policy.sql_check`` and
``accord.core.engine.prepare``), so a query and a linkage under one agreement see the same rows.
The record key (the contract's primary key) is read as well: it names each record in the
person-key table and never leaves the trust.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from accord.catalogue.contract import Contract
from accord.core.engine.prepare import Preparation, prepare
from accord.policy.sql_check import check_row_scope

HIDDEN = "__accord_row"


@dataclass(frozen=True)
class Share:
    """One dataset as an agreement shares it: ``fields`` (None: all) and a row scope (None: all
    rows), as written in the agreement."""

    fields: tuple[str, ...] | None = None
    row_scope: str | None = None


def shares_of(datasets: Iterable[object]) -> dict[str, Share]:
    """{dataset ref: Share} from an agreement's dataset shares. A dataset shared more than once
    (to different recipients) is read with the union of the fields and of the rows.

    Examples:
        >>> shares_of(trust.agreements.get("fsm-camden-islington").datasets)  # doctest: +SKIP
        {'camden/school_census': Share(fields=(...), row_scope="home_borough = 'islington' ...")}
    """
    fields: dict[str, list[str]] = {}
    scopes: dict[str, list[str] | None] = {}
    for share in datasets:
        ref = share.dataset  # type: ignore[attr-defined]
        fields.setdefault(ref, [])
        fields[ref] += [f for f in share.fields if f not in fields[ref]]  # type: ignore[attr-defined]
        scope = share.row_scope  # type: ignore[attr-defined]
        if ref not in scopes:
            scopes[ref] = [scope] if scope else None
        elif scopes[ref] is not None:
            scopes[ref] = [*scopes[ref], scope] if scope else None  # type: ignore[misc]
    return {
        ref: Share(
            tuple(fields[ref]),
            " OR ".join(f"({s})" for s in scopes[ref]) if scopes[ref] else None,  # type: ignore[union-attr]
        )
        for ref in fields
    }


def columns_read(contract: Contract, share: Share) -> tuple[str, ...]:
    """The columns linkage reads: the shared fields the contract knows, and the record key."""
    known = contract.field_names()
    wanted = set(share.fields) if share.fields is not None else set(known)
    keys = set(contract.primary_key)
    return tuple(name for name in known if name in wanted or name in keys)


def checked_scope(contract: Contract, share: Share) -> str | None:
    """The row scope checked against the contract, as SQL over the alias ``d``."""
    if not share.row_scope:
        return None
    return check_row_scope(share.row_scope, {n.lower() for n in contract.field_names()})


def read_shared(ref: str, contract: Contract, path: Path, share: Share) -> pa.Table:
    """The in-scope rows and shared columns of one dataset version (Parquet at ``path``)."""
    cut = prepare(
        Preparation(
            dataset=ref,
            path=path,
            columns=columns_read(contract, share),
            hidden=HIDDEN,
            row_scope=checked_scope(contract, share),
            primary_key=tuple(contract.primary_key),
        )
    )
    return cut.data.drop_columns([HIDDEN])


def filter_shared(rows: pa.Table, contract: Contract, share: Share) -> pa.Table:
    """Records arriving one by one, cut down the same way: in-scope rows and shared columns."""
    columns = [c for c in columns_read(contract, share) if c in rows.column_names]
    scope = checked_scope(contract, share)
    con = duckdb.connect()
    try:
        con.register("d", rows)
        select = ", ".join(f'd."{c}"' for c in columns)
        sql = f"SELECT {select} FROM d" + (f" WHERE {scope}" if scope else "")
        return con.sql(sql).to_arrow_table()
    finally:
        con.close()
