"""``trust.queries``: ask a question under an agreement and get back only what it permits.

The path of one question, each step refusing with a reason the caller can act on:

1. the agreement grants the caller's member access for the stated purpose (agreements service);
2. lock 1 checks the SQL on its syntax tree against the grant (:mod:`accord.policy.sql_check`)
   and works out what the answer will be made of (:mod:`accord.policy.lineage`);
3. lock 2 runs it in a sandbox holding only granted columns and in-scope rows, opted-out people
   removed (:mod:`accord.core.engine`);
4. lock 3 checks the answer: record-level only where permitted and only its fields; aggregates
   through disclosure control (:mod:`accord.policy.sdc`) and the differencing check;
5. the release is recorded — contributors to Parquet, the release row and its event in one unit
   of work — and only then returned. If it cannot be recorded, nothing is returned.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from accord.catalogue.contract import Role
from accord.core.crypto.pseudonyms import derive_key
from accord.core.engine import DuckDBSandbox, Engine, Limits, TableInput
from accord.core.engine.prepare import PERSON_KEY, Preparation, Prepared, prepare
from accord.errors import AccordError, PermissionDenied
from accord.policy.grant import AccessGrant
from accord.policy.instrument import Plan, instrument
from accord.policy.lineage import Lineage, output_lineage
from accord.policy.refusal import QueryRefused
from accord.policy.sdc import CellEvidence, MeasureCells, SDCSettings, add_totals, control
from accord.policy.sql_check import CheckedQuery, TableSpec, check_query, check_row_scope
from accord.query import events
from accord.query.differencing import differencing_reasons, record_cells
from accord.query.models_db import ReleaseRow
from accord.query.optout import OptOuts
from accord.query.release import CONTRIBUTORS_SCHEMA, Release, checksum

if TYPE_CHECKING:
    from accord.trust import Trust

DATASET_SHIFT = 40  # hidden row numbers: dataset index in the high bits, row in the low bits
SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "year": "INTEGER",
}


@dataclass
class _Input:
    ref: str
    version: int
    prepared: Prepared


class Queries:
    """Questions under agreements, and the releases they make (``trust.queries``).

    Examples:
        >>> release = trust.queries.ask(
        ...     "ana@islington.gov.uk", "fsm-2026", "fsm-support",
        ...     "SELECT name, address FROM camden.school_census WHERE fsm",
        ... )  # doctest: +SKIP
    """

    def __init__(self, trust: Trust, engine: Engine | None = None) -> None:
        self.trust = trust
        self.optouts = OptOuts(trust)
        self.limits = Limits()
        self.sdc = SDCSettings(safe_threshold=trust.settings.min_cell_size)
        self.engine: Engine = engine or DuckDBSandbox(trust.home / "tmp" / "sandbox")
        self.cache_bytes = 2 * 1024**3
        self._cache: OrderedDict[tuple[Any, ...], Prepared] = OrderedDict()

    # -- asking ----------------------------------------------------------------------------

    def ask(
        self,
        user_email: str,
        agreement_id: str,
        purpose: str,
        sql: str,
        *,
        totals: bool = False,
        at: datetime | None = None,
    ) -> Release:
        """Answer ``sql`` for ``user_email`` under ``agreement_id`` for ``purpose``.

        Raises QueryRefused (a PermissionDenied) with the reason when the agreement, the SQL or
        the answer does not allow it; the refusal is logged.
        """
        try:
            grant = self.trust.agreements.grant(user_email, agreement_id, purpose, at=at)
        except QueryRefused:
            raise
        except PermissionDenied as exc:
            refusal = QueryRefused(exc.message, lock="agreement", details=exc.details)
            self._refused(user_email, None, agreement_id, purpose, sql, refusal)
            raise refusal from exc
        return self.run(user_email, grant, sql, totals=totals, at=at)

    def run(
        self,
        user_email: str,
        grant: AccessGrant,
        sql: str,
        *,
        totals: bool = False,
        at: datetime | None = None,
    ) -> Release:
        """Answer ``sql`` under an AccessGrant already decided (``ask`` decides it for you)."""
        member: str | None = None
        try:
            user = self.trust.catalogue.get_user(user_email)
            member = user.member
            _check_grant_applies(grant, user.member, user.active, at)
            return self._answer(user.email, user.member, grant, sql, totals)
        except QueryRefused as refusal:
            self._refused(user_email, member, grant.agreement_id, grant.purpose, sql, refusal)
            raise

    def table_specs(self, grant: AccessGrant) -> dict[str, TableSpec]:
        """What lock 1 checks against: the granted datasets, their columns, the linked view."""
        linked = self._keys_path(grant) is not None
        specs = {}
        for ref, dataset_grant in grant.datasets.items():
            contract = self.trust.catalogue.contract(ref)
            columns = {f.name: SQL_TYPES.get(f.type, "VARCHAR") for f in contract.fields}
            granted = set(dataset_grant.fields) & set(columns)
            if linked:
                columns[PERSON_KEY] = "VARCHAR"
                granted.add(PERSON_KEY)
            specs[ref] = TableSpec(ref=ref, columns=columns, granted=frozenset(granted))
        return specs

    # -- the three locks -------------------------------------------------------------------

    def _answer(
        self, email: str, member: str, grant: AccessGrant, sql: str, totals: bool
    ) -> Release:
        who = f"{member} under {grant.agreement_id} for {grant.purpose}"
        specs = self.table_specs(grant)
        checked = check_query(sql, specs, who=who)  # lock 1
        hidden = f"__accord_row_{secrets.token_hex(8)}"
        plan = instrument(checked, hidden)
        lineage = output_lineage(checked.tree)
        _check_output_allowed(plan, lineage, grant, who)
        inputs = self._inputs(grant, checked, hidden)  # lock 2
        statements = [plan.sql] + ([plan.provenance_sql] if plan.provenance_sql else [])
        results = self.engine.run(
            [TableInput(*i.ref.split("/", 1), i.prepared.data) for i in inputs],
            statements,
            self.limits,
        )
        settings = self.sdc.with_threshold(grant.outputs.min_cell_size)
        if plan.aggregate:  # lock 3
            table, contributors, changes, people_per_cell = self._aggregate(
                plan, results[0], grant, member, settings, inputs, totals
            )
        else:
            table, cells = self._record_level(plan, results)
            contributors = _identify(cells, inputs)
            changes, people_per_cell = [], {}
        return self._record(
            email, member, grant, checked, plan, table, contributors, changes, people_per_cell
        )

    def _record_level(self, plan: Plan, results: list[pa.Table]) -> tuple[pa.Table, pa.Table]:
        answer = results[0]
        table = answer.select(list(range(len(plan.outputs))))
        source = results[1] if plan.provenance_sql else answer
        cells = _explode_hidden(source, plan.hidden, by_row=not plan.provenance_sql)
        return table, cells

    def _aggregate(
        self,
        plan: Plan,
        answer: pa.Table,
        grant: AccessGrant,
        member: str,
        settings: SDCSettings,
        inputs: list[_Input],
        totals: bool,
    ) -> tuple[pa.Table, pa.Table, list[Any], dict[int, int]]:
        rows = answer.select(list(range(len(plan.outputs)))).to_pylist()
        evidence = answer.to_pylist()
        people = {i: _cell_people([row[n] for n in plan.counts]) for i, row in enumerate(evidence)}
        measures = [
            MeasureCells(
                column=m.column,
                is_count=m.kind == "count",
                evidence=[
                    CellEvidence(
                        contributors=people[i],
                        value=_number(rows[i][m.column]),
                        is_count=m.kind == "count",
                        values=tuple(
                            (_number(e[s]), _number(e[t1]), _number(e[t2]), int(e[ng] or 0))
                            for s, t1, t2, ng in m.values
                        ),
                    )
                    for i, e in enumerate(evidence)
                ],
            )
            for m in plan.measures
        ]
        cells = _explode_lists(answer, plan.contributors)
        identities = _identify(cells, inputs)
        differencing = differencing_reasons(
            self.trust, grant.agreement_id, member, identities, people, settings.safe_threshold
        )
        controlled = control(rows, plan.dimensions, measures, settings, differencing=differencing)
        if totals:
            add_totals(controlled, plan.dimensions, measures, settings.safe_round_base)
        released = [i for i in range(len(rows)) if i not in controlled.suppressed_rows]
        people_per_cell = {i: people[i] for i in released}
        table = _rows_to_table(controlled.rows, answer.schema, plan.outputs, plan.measures)
        return table, identities, controlled.changes, people_per_cell

    # -- lock 2 inputs ---------------------------------------------------------------------

    def _inputs(self, grant: AccessGrant, checked: CheckedQuery, hidden: str) -> list[_Input]:
        keys_path = self._keys_path(grant)
        pseudonym_key = (
            derive_key(
                self.trust.pseudonym_secret,
                f"release-pseudonym:{grant.agreement_id}:{grant.recipient}",
            )
            if keys_path
            else None
        )
        inputs = []
        for index, ref in enumerate(sorted(grant.datasets)):
            if ref not in checked.columns:
                continue
            contract = self.trust.catalogue.contract(ref)
            version = self.trust.catalogue.version(ref)
            columns = tuple(sorted(c for c in checked.columns[ref] if c != PERSON_KEY))
            dataset_grant = grant.datasets[ref]
            row_scope = (
                check_row_scope(dataset_grant.row_scope, set(contract.field_names()))
                if dataset_grant.row_scope
                else None
            )
            opt_out = None
            if grant.opt_out_applies:
                nhs = contract.fields_with_role(Role.nhs_number)
                opt_out = self.optouts.filter(nhs[0].name if nhs else None, keys_path is not None)
            preparation = Preparation(
                dataset=ref,
                path=self._version_path(ref, version.number),
                columns=columns,
                hidden="__accord_row",
                offset=index << DATASET_SHIFT,
                row_scope=row_scope,
                primary_key=tuple(contract.primary_key),
                keys_path=keys_path,
                pseudonym_key=pseudonym_key,
                opt_out=opt_out,
            )
            prepared = self._prepared(preparation, version.number)
            data = prepared.data.rename_columns(
                [hidden if c == "__accord_row" else c for c in prepared.data.column_names]
            )
            inputs.append(_Input(ref, version.number, Prepared(data, prepared.identities)))
        return inputs

    def _prepared(self, p: Preparation, version: int) -> Prepared:
        key = (
            p.dataset,
            version,
            str(p.path),
            p.columns,
            p.row_scope,
            p.offset,
            _mtime(p.keys_path),
            p.pseudonym_key,
            self.optouts.revision() if p.opt_out else None,
        )
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            prepared = prepare(p, threads=self.limits.threads)
        except duckdb.Error as exc:
            raise QueryRefused(
                f"the data of {p.dataset} could not be prepared: {str(exc).splitlines()[0]}",
                lock="during",
            ) from exc
        self._cache[key] = prepared
        while (
            sum(v.data.nbytes + v.identities.nbytes for v in self._cache.values())
            > (self.cache_bytes)
            and len(self._cache) > 1
        ):
            self._cache.popitem(last=False)
        return prepared

    def _version_path(self, ref: str, number: int) -> Path:
        try:
            return Path(self.trust.ingest.version_path(ref, number))
        except ModuleNotFoundError:  # pragma: no cover - ingest not in this build
            path = Path(self.trust.catalogue.version(ref, number).path)
            return path if path.is_absolute() else self.trust.home / path

    def _keys_path(self, grant: AccessGrant) -> Path | None:
        if not grant.linkage:
            return None
        try:
            path = self.trust.linkage.keys_path(grant.agreement_id)
        except (ModuleNotFoundError, AttributeError):  # pragma: no cover - linkage not built
            return None
        return Path(path) if path is not None and Path(path).exists() else None

    # -- recording -------------------------------------------------------------------------

    def _record(
        self,
        email: str,
        member: str,
        grant: AccessGrant,
        checked: CheckedQuery,
        plan: Plan,
        table: pa.Table,
        contributors: pa.Table,
        changes: list[Any],
        people_per_cell: dict[int, int],
    ) -> Release:
        release_id = f"rel-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(6)}"
        folder = self.trust.settings.data_dir / "releases"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{release_id}.parquet"
        pq.write_table(contributors, path)
        digest = checksum(table)
        identity = pc.if_else(
            pc.is_null(contributors.column("person_key")),
            pc.binary_join_element_wise(
                contributors.column("dataset"), contributors.column("record_key"), "|"
            ),
            contributors.column("person_key"),
        )
        people = len(pc.unique(identity))
        output = "aggregate" if plan.aggregate else "record-level"
        made_at = datetime.now(UTC)
        described = [c.describe() for c in changes]
        try:
            with self.trust.unit_of_work() as uow:
                uow.session.add(
                    ReleaseRow(
                        id=release_id,
                        made_at=made_at,
                        user_email=email,
                        member=member,
                        agreement=grant.agreement_id,
                        agreement_version=grant.agreement_version,
                        purpose=grant.purpose,
                        sql_text=checked.text,
                        columns=checked.touched(),
                        output=output,
                        rows_out=table.num_rows,
                        people=people,
                        checksum=digest,
                        contributors_path=str(path.relative_to(self.trust.home)),
                        changes=described,
                    )
                )
                if plan.aggregate:
                    record_cells(
                        uow.session, release_id, grant.agreement_id, member, people_per_cell
                    )
                uow.emit(
                    events.ReleaseMade(
                        release_id=release_id,
                        member=member,
                        user=email,
                        agreement=grant.agreement_id,
                        agreement_version=grant.agreement_version,
                        purpose=grant.purpose,
                        sql=checked.text,
                        columns=checked.touched(),
                        output=output,
                        rows_out=table.num_rows,
                        people=people,
                        checksum=digest,
                        cells_changed=len(changes),
                    )
                )
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Release(
            id=release_id,
            made_at=made_at,
            user=email,
            member=member,
            agreement=grant.agreement_id,
            agreement_version=grant.agreement_version,
            purpose=grant.purpose,
            sql=checked.text,
            columns=checked.touched(),
            output=output,
            table=table,
            people=people,
            checksum=digest,
            changes=changes,
            contributors_path=path,
        )

    def _refused(
        self,
        email: str,
        member: str | None,
        agreement_id: str,
        purpose: str,
        sql: str,
        refusal: QueryRefused,
    ) -> None:
        try:
            with self.trust.unit_of_work() as uow:
                uow.emit(
                    events.QueryRefused(
                        member=member,
                        user=email,
                        agreement=agreement_id,
                        purpose=purpose,
                        sql=sql[:20000],
                        lock=refusal.lock,
                        reason=refusal.reason,
                    )
                )
        except AccordError:  # pragma: no cover - the refusal stands even if the log is down
            pass

    # -- releases --------------------------------------------------------------------------

    def releases(self, agreement_id: str | None = None) -> list[dict[str, Any]]:
        """The releases made (newest first), optionally under one agreement."""
        from sqlalchemy import select

        with self.trust.store.sessions() as session:
            query = select(ReleaseRow).order_by(ReleaseRow.made_at.desc())
            if agreement_id:
                query = query.where(ReleaseRow.agreement == agreement_id)
            return [
                {c.name: getattr(row, c.name) for c in ReleaseRow.__table__.columns}
                for row in session.scalars(query)
            ]

    def contributors(self, release_id: str) -> pa.Table:
        """The records (and person keys) behind one release."""
        return pq.read_table(self.trust.settings.data_dir / "releases" / f"{release_id}.parquet")


# -- helpers --------------------------------------------------------------------------------


def _check_grant_applies(
    grant: AccessGrant, member: str, active: bool, at: datetime | None
) -> None:
    now = at or datetime.now(UTC)
    if not active:
        raise QueryRefused("this user is deactivated", lock="agreement")
    if grant.recipient != member:
        raise QueryRefused(
            f"agreement {grant.agreement_id} grants access to {grant.recipient}, not to {member}",
            lock="agreement",
        )
    if grant.valid_from and now < grant.valid_from:
        raise QueryRefused(
            f"agreement {grant.agreement_id} starts on {grant.valid_from:%Y-%m-%d}",
            lock="agreement",
        )
    if grant.expires and now >= grant.expires:
        raise QueryRefused(
            f"agreement {grant.agreement_id} expired on {grant.expires:%Y-%m-%d}",
            lock="agreement",
        )


def _check_output_allowed(plan: Plan, lineage: list[Lineage], grant: AccessGrant, who: str) -> None:
    """Lock 3, decided from the plan before anything runs: may this kind of answer leave?"""
    rules = grant.outputs
    if plan.aggregate:
        if not rules.aggregate:
            raise QueryRefused(f"aggregate answers are not permitted to {who}", lock="after")
        return
    if not rules.record_level:
        raise QueryRefused(
            f"record-level answers are not permitted to {who}: ask for counts or other "
            "aggregates (GROUP BY)",
            lock="after",
        )
    for column in lineage:
        if column.aggregated or column.windowed:
            raise QueryRefused(
                f"the column {column.name} of a record-level answer is computed across rows; "
                "a record-level answer may hold only permitted fields",
                lock="after",
            )
        if not column.fields:
            raise QueryRefused(
                f"the column {column.name} of a record-level answer comes from no permitted field",
                lock="after",
            )
        for source in sorted(column.fields):
            if source.endswith(f".{PERSON_KEY}"):
                if not rules.person_pseudonym:
                    raise QueryRefused(
                        f"person keys may not leave under this agreement ({column.name})",
                        lock="after",
                    )
            elif source not in rules.record_fields:
                raise QueryRefused(
                    f"{source} may not leave in a record-level answer to {who} "
                    f"(column {column.name})",
                    lock="after",
                )


def _cell_people(counts: list[Any]) -> int:
    present = [int(c) for c in counts if c]
    return min(present) if present else 0


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _explode_hidden(table: pa.Table, hidden: list[str], *, by_row: bool) -> pa.Table:
    cells, rows = [], []
    for name in hidden:
        column = table.column(name)
        index = (
            pa.array(range(table.num_rows), pa.int64())
            if by_row
            else pa.nulls(table.num_rows, pa.int64())
        )
        keep = pc.is_valid(column)
        cells.append(pc.filter(index, keep))
        rows.append(pc.filter(column, keep))
    if not cells:
        return pa.table({"cell": pa.array([], pa.int64()), "row": pa.array([], pa.int64())})
    return pa.table(
        {
            "cell": pa.concat_arrays(
                [c.combine_chunks() if hasattr(c, "combine_chunks") else c for c in cells]
            ),
            "row": pa.concat_arrays(
                [r.combine_chunks() if hasattr(r, "combine_chunks") else r for r in rows]
            ).cast(pa.int64()),
        }
    )


def _explode_lists(table: pa.Table, lists: list[str]) -> pa.Table:
    cells, rows = [], []
    for name in lists:
        column = table.column(name).combine_chunks()
        cells.append(pc.list_parent_indices(column).cast(pa.int64()))
        rows.append(pc.list_flatten(column).cast(pa.int64()))
    cell = pa.concat_arrays(cells) if cells else pa.array([], pa.int64())
    row = pa.concat_arrays(rows) if rows else pa.array([], pa.int64())
    keep = pc.is_valid(row)
    return pa.table({"cell": pc.filter(cell, keep), "row": pc.filter(row, keep)})


def _identify(cells: pa.Table, inputs: list[_Input]) -> pa.Table:
    """(cell, row) pairs → (cell, dataset, version, record_key, person_key), distinct."""
    if not inputs:
        return CONTRIBUTORS_SCHEMA.empty_table()
    connection = duckdb.connect(":memory:")
    try:
        connection.register("cells", cells)
        parts = []
        for n, item in enumerate(inputs):
            connection.register(f"ids_{n}", item.prepared.identities)
            parts.append(
                f"SELECT row, record_key, person_key, '{item.ref}' AS dataset, "
                f"{int(item.version)}::BIGINT AS version FROM ids_{n}"
            )
        result = connection.sql(
            f"WITH ids AS ({' UNION ALL '.join(parts)}) "
            "SELECT DISTINCT c.cell, i.dataset, i.version, i.record_key, i.person_key "
            "FROM cells c JOIN ids i ON i.row = c.row"
        ).to_arrow_table()
        return result.cast(CONTRIBUTORS_SCHEMA)
    finally:
        connection.close()


def _rows_to_table(
    rows: list[dict[str, Any]], schema: pa.Schema, outputs: list[str], measures: list[Any]
) -> pa.Table:
    counts = {m.column for m in measures if m.kind == "count"}
    arrays, fields = [], []
    for i, name in enumerate(outputs):
        values = [row.get(name) for row in rows]
        field_type = schema.field(i).type
        if name in counts:
            field_type = pa.int64()
        try:
            array = pa.array(values, type=field_type)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array([None if v is None else str(v) for v in values], pa.string())
        arrays.append(array)
        fields.append(pa.field(name, array.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _mtime(path: Path | None) -> float | None:
    return path.stat().st_mtime if path is not None and path.exists() else None


__all__ = ["Queries"]
