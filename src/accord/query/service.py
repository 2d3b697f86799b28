"""``trust.queries``: ask a question under an agreement and get back only what it permits.

The path of one question, each step refusing with a reason the caller can act on:

1. the agreement grants the caller's member access for the stated purpose (agreements service);
2. lock 1 checks the SQL on its syntax tree against the grant (:mod:`accord.policy.sql_check`)
   and works out what the answer will be made of (:mod:`accord.policy.lineage`);
3. lock 2 runs it on a new connection to the grant's sandbox database, which holds only granted
   columns and in-scope rows, opted-out people removed (:mod:`accord.core.engine`);
4. lock 3 checks the answer: record-level only where permitted and only its fields; aggregates
   through disclosure control (:mod:`accord.policy.sdc`) and the differencing check;
5. the release is recorded — the release row, its cells and its event in one unit of work, with
   its contributors written or what fixes them (:mod:`accord.query.pending`) — and only then
   returned. If it cannot be recorded, nothing is returned.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Select, bindparam, func, insert, select

from accord.catalogue.contract import Contract, Role
from accord.core.crypto.pseudonyms import derive_key
from accord.core.engine import DuckDBSandbox, Engine, Limits
from accord.core.engine.database import (
    SandboxDatabase,
    open_database,
)
from accord.core.engine.prepare import PERSON_KEY, Preparation
from accord.core.store.models import DatasetRow, MemberRow, UserRow, VersionRow
from accord.errors import AccordError, NotFound, PermissionDenied
from accord.policy.grant import AccessGrant
from accord.policy.instrument import Plan, instrument
from accord.policy.lineage import Lineage, output_lineage
from accord.policy.refusal import QueryRefused
from accord.policy.sdc import CellEvidence, MeasureCells, SDCSettings, add_totals, control
from accord.policy.sql_check import CheckedQuery, TableSpec, check_query, check_row_scope
from accord.query import events
from accord.query.contributors import (
    DATASET_SHIFT,
    Contributors,
    Part,
    Source,
    cell_keys,
    from_lineage,
    split,
    write,
)
from accord.query.differencing import (
    EarlierCells,
    NewCells,
    Signatures,
    any_close,
    differencing_reasons,
    record_cells,
)
from accord.query.models_db import ReleaseRow
from accord.query.optout import OptOuts
from accord.query.pending import PendingReleases
from accord.query.release import CONTRIBUTORS_SCHEMA, Release, checksum
from accord.query.release_index import ReleaseIndex
from accord.query.sandboxes import ROW, Sandboxes, needed_by
from accord.query.signatures import cell_signatures

if TYPE_CHECKING:
    from accord.trust import Trust


SQL_TYPES = {
    "string": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "year": "INTEGER",
}


@dataclass(frozen=True)
class _Dataset:
    """What the query path needs of one granted dataset, read in one go per question."""

    ref: str
    contract: Contract
    version: int | None  # the latest version; None before the first ingest
    version_path: str | None


@dataclass(frozen=True)
class _Decided:
    """Lock 1's verdict on one question under one grant's tables (kept for repeats)."""

    checked: CheckedQuery
    plan: Plan
    lineage: list[Lineage]
    hidden: str


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
        self._decided: OrderedDict[tuple[Any, ...], _Decided] = OrderedDict()
        self._contracts: dict[str, Contract] = {}
        self._lineages: dict[str, str | None] = {}
        folder = trust.settings.data_dir / "releases"
        self.signatures = Signatures(folder)
        self.earlier = EarlierCells()
        self.index = ReleaseIndex(folder / "index")
        self.pending = PendingReleases(folder, self._materialise)
        self.sandboxes = Sandboxes(
            trust,
            self.engine,
            self.optouts,
            lambda: needed_by([self.pending.path(r) for r in self.pending.ids()], trust.home),
        )
        for release_id in self.pending.ids():  # left by a process that stopped: list them now
            self.pending.start(release_id)

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
            # The user and the datasets in one read of the store, afresh for every question:
            # a deactivated user or a new version takes effect at once.
            email, member, active, datasets = self._read_store(user_email, grant)
            _check_grant_applies(grant, member, active, at)
            return self._answer(email, member, grant, sql, totals, datasets)
        except QueryRefused as refusal:
            self._refused(user_email, member, grant.agreement_id, grant.purpose, sql, refusal)
            raise

    def table_specs(
        self, grant: AccessGrant, datasets: dict[str, _Dataset] | None = None
    ) -> dict[str, TableSpec]:
        """What lock 1 checks against: the granted datasets, their columns, the linked view."""
        linked = self._keys_path(grant) is not None
        datasets = datasets if datasets is not None else self._datasets(grant)
        specs = {}
        for ref in grant.datasets:
            contract = datasets[ref].contract
            columns = {f.name: SQL_TYPES.get(f.type, "VARCHAR") for f in contract.fields}
            granted = set(grant.datasets[ref].fields) & set(columns)
            if linked:
                columns[PERSON_KEY] = "VARCHAR"
                granted.add(PERSON_KEY)
            specs[ref] = TableSpec(ref=ref, columns=columns, granted=frozenset(granted))
        return specs

    def decide(
        self, grant: AccessGrant, sql: str, specs: dict[str, TableSpec], who: str
    ) -> _Decided:
        """Lock 1 and the plan for ``sql``; the same question under the same tables is decided
        once per process (the verdict depends on nothing else), refusals every time."""
        key = (
            sql,
            who,
            tuple(
                (ref, tuple(sorted(spec.columns.items())), tuple(sorted(spec.granted)))
                for ref, spec in sorted(specs.items())
            ),
        )
        found = self._decided.get(key)
        if found is None:
            checked = check_query(sql, specs, who=who)
            # The hidden row column's name is random per verdict: lock 1 never lets a question
            # name a column outside the grant, and the name is not guessable either.
            hidden = f"__accord_row_{secrets.token_hex(8)}"
            found = _Decided(
                checked, instrument(checked, hidden), output_lineage(checked.tree), hidden
            )
            self._decided[key] = found
            if len(self._decided) > 1024:
                self._decided.popitem(last=False)
        else:
            self._decided.move_to_end(key)
        _check_output_allowed(found.plan, found.lineage, grant, who)
        return found

    def releases_touching(self, person_keys: Sequence[str]) -> list[dict[str, Any]]:
        """The releases (newest first) whose contributors include any of these trust-wide person
        keys: what a citizen is told about the use of their data.

        Exact: the release index (:mod:`accord.query.release_index`) finds the candidates, and
        the person keys in each candidate's contributors confirm them.

        Examples:
            >>> [r["id"] for r in trust.queries.releases_touching(["PK-000123"])]  # doctest: +SKIP
            ['rel-20261125-6f0c2a9e1b7d']
        """
        keys = [k for k in person_keys if k]
        if not keys:
            return []
        self.pending.complete()  # nobody is told less than a release used
        with self.trust.store.sessions() as session:
            rows = list(session.scalars(select(ReleaseRow).order_by(ReleaseRow.made_at.desc())))
        found = self.index.touching(
            [(r.id, self.trust.home / r.contributors_path) for r in rows], person_keys=keys
        )
        return [_row_dict(r) for r in rows if r.id in found]

    def releases_of_records(self, records: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
        """Release id -> the datasets of ``records`` (dataset, record_key) it used, for every
        release that used any of them (what the citizen view reports). Exact."""
        records = sorted(set(records))
        if not records:
            return {}
        self.pending.complete()  # nobody is told less than a release used
        # touching() indexes what is new itself: the releases are listed once, not twice.
        return self.index.touching(self._release_paths(), records=records)

    def refresh_index(self) -> int:
        """Index every release not yet in the release index (listing pending contributors
        first); returns how many were added. Searches do this themselves."""
        self.pending.complete()
        return self.index.refresh(self._release_paths())

    def _release_paths(self) -> list[tuple[str, Path]]:
        with self.trust.store.sessions() as session:
            rows = session.execute(select(ReleaseRow.id, ReleaseRow.contributors_path)).all()
        return [(r, self.trust.home / p) for r, p in rows]

    def settle(self) -> int:
        """Finish listing the contributors of every release still pending (those this process
        lists in the background, and any left by a process that stopped); returns how many were
        listed here. Look-ups and exports do this themselves."""
        self.pending.settle()
        return self.pending.complete()

    # -- the three locks -------------------------------------------------------------------

    def _answer(
        self,
        email: str,
        member: str,
        grant: AccessGrant,
        sql: str,
        totals: bool,
        found: dict[str, tuple[str, int | None, str | None]],
    ) -> Release:
        who = f"{member} under {grant.agreement_id} for {grant.purpose}"
        datasets = self._with_contracts(grant, found)
        decided = self.decide(grant, sql, self.table_specs(grant, datasets), who)  # lock 1
        checked, plan = decided.checked, decided.plan
        sources, database = self._inputs(grant, checked, datasets)  # lock 2
        statements = [plan.sql] + ([plan.provenance_sql] if plan.provenance_sql else [])
        # The plan names the hidden row column of its verdict; the database has its own name.
        statements = [s.replace(decided.hidden, database.hidden) for s in statements]
        results = self.engine.run_database(database.path, statements, self.limits)
        settings = self.sdc.with_threshold(grant.outputs.min_cell_size)
        release_id = f"rel-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(6)}"
        pending: dict[str, Any] | None = None
        contributors: Contributors | None
        if plan.aggregate and plan.contributors_sql is not None:
            pending = self._pending_spec(
                release_id, plan, results[0], database, decided.hidden, sources[0]
            )
            # Listed later only where the count of each cell is its number of people.
            contributors = None if _countable(sources[0]) else self._materialise_now(pending)
        elif plan.aggregate:
            contributors = self._aggregate_contributors(plan, results[0], sources)
        else:
            table, contributors = self._record_level(plan, results, sources)
            pending = self._positions_spec(release_id, database, contributors)
        # Who contributed is written in the background while lock 3 checks the answer: the
        # write releases the GIL, and the release is recorded only once it has finished.
        keeping = (
            _Background(lambda: self._keep(release_id, contributors))
            if contributors is not None and pending is None
            else None
        )
        try:
            if plan.aggregate:  # lock 3
                known = contributors
                lister = (
                    (lambda: known)
                    if known is not None
                    else (lambda: self._materialise_now(pending))
                )
                table, changes, people_per_cell, signatures, listed = self._aggregate(
                    plan,
                    results[0],
                    grant,
                    member,
                    settings,
                    lister,
                    totals,
                    listed=contributors,
                    lineage=pending["lineage"] if pending is not None else None,
                )
                if keeping is None and listed is not None:
                    # The differencing check needed the contributors: keep them now.
                    contributors = listed
                    keeping = _Background(lambda: self._keep(release_id, listed))
            else:
                changes, people_per_cell, signatures = [], {}, None
        except BaseException:
            kept = keeping.result(raise_error=False) if keeping is not None else None
            for item in kept if isinstance(kept, list) else []:
                item.unlink(missing_ok=True)
            raise
        written: list[Path] = keeping.result() if keeping is not None else []
        if pending is not None:
            pending["released"] = sorted(people_per_cell)
        release = self._record(
            release_id,
            written,
            email,
            member,
            grant,
            checked,
            plan,
            table,
            contributors,
            pending if keeping is None else None,
            changes,
            people_per_cell,
            signatures,
            lineage=pending.get("lineage") if pending is not None else None,
        )
        if keeping is None:
            self.pending.start(release.id)
        return release

    def _positions_spec(
        self, release_id: str, database: SandboxDatabase, contributors: Contributors
    ) -> dict[str, Any]:
        """What fixes the contributors of a record-level answer: its rows' positions in the
        pinned sandbox database (see :mod:`accord.query.pending`)."""
        parts, arrays = [], {}
        for i, part in enumerate(contributors.parts):
            parts.append({"dataset": part.source.ref, "version": part.source.version})
            arrays[f"cells_{i}"] = part.cells
            arrays[f"positions_{i}"] = part.positions
        return {
            "release_id": release_id,
            "database": str(database.folder.relative_to(self.trust.home)),
            "parts": parts,
            "_arrays": arrays,
        }

    def _pending_spec(
        self,
        release_id: str,
        plan: Plan,
        answer: pa.Table,
        database: SandboxDatabase,
        hidden: str,
        source: Source,
    ) -> dict[str, Any]:
        """What fixes the contributors of an aggregate over one dataset (see
        :mod:`accord.query.pending`)."""
        assert plan.contributors_sql is not None
        [count] = plan.counts
        lineage = plan.contributors_sql.replace(hidden, database.hidden)
        return {
            "release_id": release_id,
            "lineage": hashlib.sha256(f"{database.folder.name}\n{lineage}".encode()).hexdigest(),
            "database": str(database.folder.relative_to(self.trust.home)),
            "dataset": source.ref,
            "version": source.version,
            "sql": lineage,
            "columns": [plan.keys, count, plan.contributors_sql_rows],
            "keys": cell_keys(answer, plan.keys),
            "counts": [int(c or 0) for c in answer.column(count).to_pylist()],
            "released": None,
        }

    def _lineage_path(self, release_id: str) -> Path:
        return self.trust.settings.data_dir / "releases" / f"{release_id}.lineage"

    def _lineage_of(self, release_id: str) -> str | None:
        """The lineage (pinned database and query) of an earlier aggregate release, if kept."""
        if release_id not in self._lineages:
            path = self._lineage_path(release_id)
            self._lineages[release_id] = path.read_text(encoding="utf-8") if path.exists() else None
        return self._lineages[release_id]

    def _materialise_now(self, spec: dict[str, Any] | None) -> Contributors:
        """Run a release's lineage query on its pinned sandbox database: its contributors."""
        assert spec is not None
        database = open_database(self.trust.home / spec["database"])
        if database is None:
            raise AccordError(
                f"the sandbox database of release {spec['release_id']} is missing: its "
                "contributors cannot be listed"
            )
        if "parts" in spec:  # a record-level answer: its positions were kept
            with np.load(self.pending.positions_path(spec["release_id"])) as arrays:
                return Contributors(
                    [
                        Part(
                            self.sandboxes.source(database, p["dataset"], int(p["version"])),
                            arrays[f"cells_{i}"],
                            arrays[f"positions_{i}"],
                        )
                        for i, p in enumerate(spec["parts"])
                    ]
                )
        source = self.sandboxes.source(database, spec["dataset"], int(spec["version"]))
        [lineage] = self.engine.run_database(database.path, [spec["sql"]], self.limits)
        try:
            return from_lineage(
                lineage, spec["keys"], spec["counts"], tuple(spec["columns"]), source
            )
        except ValueError as exc:
            raise AccordError(
                f"the contributors of release {spec['release_id']} cannot be listed: {exc}"
            ) from exc

    def _materialise(self, spec: dict[str, Any]) -> bool:
        """List a pending release's contributors and write them with its cells' signatures;
        False if the release is not recorded (yet), and nothing was written."""
        release_id = spec["release_id"]
        with self.trust.store.sessions() as session:
            recorded = session.get(ReleaseRow, release_id) is not None
        if not recorded:
            marker = self.pending.path(release_id)
            # A release being recorded right now has its marker already: only an old marker
            # without a release (the process stopped before recording it) is dropped.
            return datetime.now(UTC).timestamp() - marker.stat().st_mtime > 3600
        contributors = self._materialise_now(spec)
        written = self._keep(release_id, contributors)
        if "parts" in spec:
            return True
        try:
            released = list(spec["released"] or [])
            signatures = cell_signatures(contributors.signature_parts(), len(spec["counts"]))
            self.signatures.write(release_id, released, signatures)
        except BaseException:
            for item in written:
                item.unlink(missing_ok=True)
            raise
        return True

    def _keep(self, release_id: str, contributors: Contributors) -> list[Path]:
        """Write the release's contributors; all or nothing."""
        folder = self.trust.settings.data_dir / "releases"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"{release_id}.parquet"
        written = [path, path.with_name(path.name + ".partial")]
        try:
            write(contributors.table(), path)
        except BaseException:
            for item in written:
                item.unlink(missing_ok=True)
            raise
        return written

    def _record_level(
        self, plan: Plan, results: list[pa.Table], sources: list[Source]
    ) -> tuple[pa.Table, Contributors]:
        answer = results[0]
        table = answer.select(list(range(len(plan.outputs))))
        source = results[1] if plan.provenance_sql else answer
        by_row = not plan.provenance_sql
        columns = []
        for name in plan.hidden:
            rows = source.column(name).combine_chunks()
            keep = pc.is_valid(rows)
            cells = (
                np.flatnonzero(keep.to_numpy(zero_copy_only=False))
                if by_row
                else np.full(len(rows) - rows.null_count, -1, dtype=np.int64)
            )
            columns.append((cells, pc.drop_null(rows).to_numpy()))
        return table, split(columns, sources, unique=by_row)

    def _aggregate_contributors(
        self, plan: Plan, answer: pa.Table, sources: list[Source]
    ) -> Contributors:
        columns = []
        for name in plan.contributors:
            lists = answer.column(name).combine_chunks()
            values = pc.list_flatten(lists)
            cells = np.asarray(pc.list_parent_indices(lists).to_numpy(), dtype=np.int64)
            keep = pc.is_valid(values)
            if values.null_count:
                cells = cells[keep.to_numpy(zero_copy_only=False)]
            columns.append((cells, pc.drop_null(values).to_numpy()))
        exclusive = plan.rows_unique and len(columns) == 1
        return split(columns, sources, unique=plan.rows_unique, exclusive=exclusive)

    def _aggregate(
        self,
        plan: Plan,
        answer: pa.Table,
        grant: AccessGrant,
        member: str,
        settings: SDCSettings,
        lister: Callable[[], Contributors],
        totals: bool,
        *,
        listed: Contributors | None,
        lineage: str | None,
    ) -> tuple[pa.Table, list[Any], dict[int, int], np.ndarray | None, Contributors | None]:
        """Lock 3 for an aggregate. ``listed`` are its contributors if already listed; else
        ``lister`` lists them, which happens only if the differencing check needs them."""
        rows = answer.select(list(range(len(plan.outputs)))).to_pylist()
        # The evidence without the contributor lists: those stay in Arrow.
        evidence = answer.drop_columns(plan.contributors).to_pylist()
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
        earlier = self.earlier.get(self.trust, grant.agreement_id, member)
        if lineage is not None:
            # An earlier answer to the same question on the same pinned data has the same
            # cells: each new cell is one of them or shares no row with it, so none can be
            # nested in another by a few people, and none needs comparing.
            same = {r for r in {e[0] for e in earlier} if self._lineage_of(r) == lineage}
            earlier = [e for e in earlier if e[0] not in same] if same else earlier
        close = any_close(earlier, people, settings.safe_threshold)
        differencing: dict[int, str] = {}
        signatures = None
        if close:
            self.pending.complete()  # earlier answers' contributors and signatures first
        if close or listed is not None:
            listed = listed if listed is not None else lister()
            signatures = cell_signatures(listed.signature_parts(), answer.num_rows)
        if close and listed is not None and signatures is not None:
            differencing = differencing_reasons(
                self.trust,
                earlier,
                NewCells(signatures, listed.table),
                people,
                settings.safe_threshold,
                self.signatures,
            )
        controlled = control(rows, plan.dimensions, measures, settings, differencing=differencing)
        if totals:
            add_totals(controlled, plan.dimensions, measures, settings.safe_round_base)
        released = [i for i in range(len(rows)) if i not in controlled.suppressed_rows]
        people_per_cell = {i: people[i] for i in released}
        table = _rows_to_table(controlled.rows, answer.schema, plan.outputs, plan.measures)
        return table, controlled.changes, people_per_cell, signatures, listed

    # -- lock 2 inputs ---------------------------------------------------------------------

    def _datasets(self, grant: AccessGrant) -> dict[str, _Dataset]:
        """Contract and latest version of every granted dataset, in one read of the store."""
        with self.trust.store.sessions() as session:
            found = _dataset_rows(session, grant)
        return self._with_contracts(grant, found)

    def _read_store(
        self, email: str, grant: AccessGrant
    ) -> tuple[str, str, bool, dict[str, tuple[str, int | None, str | None]]]:
        """The user (email, member, active) and the granted datasets' contract digests and
        latest versions, in one session: two statements, no ORM objects."""
        with self.trust.store.sessions() as session:
            connection = session.connection()
            user = connection.execute(_USER, {"email": email.strip().lower()}).first()
            if user is None:
                raise NotFound(f"No user {email}")
            found = _dataset_rows(session, grant)
        return user[0], user[1], bool(user[2]), found

    def _with_contracts(
        self, grant: AccessGrant, found: dict[str, tuple[str, int | None, str | None]]
    ) -> dict[str, _Dataset]:
        out = {}
        for ref in sorted(grant.datasets):
            if ref not in found:
                raise NotFound(f"No dataset {ref}; register it with: accord dataset register")
            sha, number, path = found[ref]
            contract = self._contracts.get(sha)
            if contract is None:  # contracts are immutable per digest
                contract = self._contracts[sha] = self.trust.catalogue.contract(ref)
            out[ref] = _Dataset(ref, contract, number, path)
        return out

    def _inputs(
        self,
        grant: AccessGrant,
        checked: CheckedQuery,
        datasets: dict[str, _Dataset],
    ) -> tuple[list[Source], SandboxDatabase]:
        """The sandbox database of the datasets this question reads under this grant, and
        what each of its row numbers stands for; built once and kept (on disk and in memory)."""
        keys_path = self._keys_path(grant)
        pseudonym_key = (
            derive_key(
                self.trust.pseudonym_secret,
                f"release-pseudonym:{grant.agreement_id}:{grant.recipient}",
            )
            if keys_path
            else None
        )
        wanted: list[tuple[str, int, Preparation]] = []
        for index, ref in enumerate(sorted(grant.datasets)):
            if ref not in checked.columns:
                continue
            dataset = datasets[ref]
            if dataset.version is None:
                raise NotFound(f"Dataset {ref} has no data yet: ingest a file first")
            contract = dataset.contract
            dataset_grant = grant.datasets[ref]
            # The whole grant is prepared once and kept: later questions that read other
            # granted columns reuse it.
            granted = tuple(sorted(set(dataset_grant.fields) & set(contract.field_names())))
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
                path=Path(dataset.version_path or ""),
                columns=granted,
                hidden=ROW,
                offset=index << DATASET_SHIFT,
                row_scope=row_scope,
                primary_key=tuple(contract.primary_key),
                keys_path=keys_path,
                pseudonym_key=pseudonym_key,
                opt_out=opt_out,
            )
            wanted.append((ref, dataset.version, preparation))
        return self.sandboxes.open(wanted, self.limits.threads)

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
        release_id: str,
        written: list[Path],
        email: str,
        member: str,
        grant: AccessGrant,
        checked: CheckedQuery,
        plan: Plan,
        table: pa.Table,
        contributors: Contributors | None,
        pending: dict[str, Any] | None,
        changes: list[Any],
        people_per_cell: dict[int, int],
        signatures: np.ndarray | None,
        *,
        lineage: str | None,
    ) -> Release:
        # Everything kept beside the release (contributors, person index, cell signatures, the
        # pending marker) is removed again if the release cannot be recorded.
        path = self.trust.settings.data_dir / "releases" / f"{release_id}.parquet"
        try:
            if plan.aggregate and signatures is not None:
                written.append(
                    self.signatures.write(release_id, sorted(people_per_cell), signatures)
                )
            if pending is not None:
                arrays = pending.pop("_arrays", None)
                written.extend(self.pending.write(pending, arrays))
            if lineage is not None:  # what a repeat of the question is recognised by
                written.append(self._lineage_path(release_id))
                written[-1].write_text(lineage, encoding="utf-8")
        except BaseException:
            for item in written:
                item.unlink(missing_ok=True)
            raise
        try:
            if contributors is not None:
                people = contributors.people()
            else:  # one dataset, no person keys, one record per row: each row is one person
                assert pending is not None
                people = sum(pending["counts"])
            event = events.ReleaseMade(
                release_id=release_id,
                member=member,
                user=email,
                agreement=grant.agreement_id,
                agreement_version=grant.agreement_version,
                purpose=grant.purpose,
                sql=checked.text,
                columns=checked.touched(),
                output="aggregate" if plan.aggregate else "record-level",
                rows_out=table.num_rows,
                people=people,
                checksum=checksum(table),
                cells_changed=len(changes),
            )
            row = ReleaseRow.values_of(
                event,
                made_at=datetime.now(UTC),
                contributors_path=str(path.relative_to(self.trust.home)),
                changes=[c.describe() for c in changes],
            )
            with self.trust.unit_of_work() as uow:
                # Core statements, not ORM objects: the unit of work's event is what logs it.
                uow.session.connection().execute(insert(ReleaseRow.__table__), row)
                if plan.aggregate:
                    record_cells(
                        uow.session, release_id, grant.agreement_id, member, people_per_cell
                    )
                uow.emit(event)
        except BaseException:
            for item in written:
                item.unlink(missing_ok=True)
            raise
        return Release.of(event, made_at=row["made_at"], table=table, changes=changes, path=path)

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

    def releases(
        self, agreement_id: str | None = None, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The releases made (newest first), optionally under one agreement; ``limit`` of them
        from ``offset`` when given (only those are read)."""
        with self.trust.store.sessions() as session:
            query = _release_rows(agreement_id).order_by(ReleaseRow.made_at.desc(), ReleaseRow.id)
            query = query.offset(max(offset, 0)).limit(limit)
            return [_row_dict(row) for row in session.scalars(query)]

    def release_total(self, agreement_id: str | None = None) -> int:
        """How many releases ``releases`` lists in all (counted, not read)."""
        with self.trust.store.sessions() as session:
            listed = _release_rows(agreement_id).subquery()
            return int(session.scalar(select(func.count()).select_from(listed)) or 0)

    def contributors(self, release_id: str) -> pa.Table:
        """The records (and person keys) behind one release."""
        self.pending.complete([release_id])
        path = self.trust.settings.data_dir / "releases" / f"{release_id}.parquet"
        return pq.read_table(path).cast(CONTRIBUTORS_SCHEMA)


# -- helpers --------------------------------------------------------------------------------


def _release_rows(agreement_id: str | None) -> Select[tuple[ReleaseRow]]:
    """The releases the list shows: all, or those under one agreement."""
    query = select(ReleaseRow)
    return query.where(ReleaseRow.agreement == agreement_id) if agreement_id else query


class _Background:
    """Run one function in a thread; ``result`` waits for it and returns (or raises) its
    outcome."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._outcome: Any = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._outcome = fn()
        except BaseException as exc:  # handed to the caller by result()
            self._outcome = exc

    def result(self, *, raise_error: bool = True) -> Any:
        self._thread.join()
        if raise_error and isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


def _dataset_query() -> Select[Any]:
    """Contract digest and latest version of every dataset of the members named in the
    expanding parameter ``members`` (built once; the caller keeps the granted ones)."""
    latest = (
        select(VersionRow.dataset_id, func.max(VersionRow.number).label("number"))
        .group_by(VersionRow.dataset_id)
        .subquery()
    )
    return (
        select(
            MemberRow.name,
            DatasetRow.name,
            DatasetRow.contract_sha256,
            VersionRow.number,
            VersionRow.path,
        )
        .select_from(DatasetRow)
        .join(MemberRow, DatasetRow.member_id == MemberRow.id)
        .outerjoin(latest, latest.c.dataset_id == DatasetRow.id)
        .outerjoin(
            VersionRow,
            (VersionRow.dataset_id == DatasetRow.id) & (VersionRow.number == latest.c.number),
        )
        .where(MemberRow.name.in_(bindparam("members", expanding=True)))
    )


_DATASETS = _dataset_query()
_USER = (
    select(UserRow.email, MemberRow.name, UserRow.active)
    .join(MemberRow, UserRow.member_id == MemberRow.id)
    .where(UserRow.email == bindparam("email"))
)


def _dataset_rows(
    session: Any, grant: AccessGrant
) -> dict[str, tuple[str, int | None, str | None]]:
    """Ref -> (contract digest, latest version number, its path) of the granted datasets."""
    wanted = {tuple(ref.split("/", 1)) for ref in grant.datasets}
    members = sorted({m for m, _ in wanted})
    return {
        f"{m}/{d}": (sha, number, path)
        for m, d, sha, number, path in session.connection().execute(_DATASETS, {"members": members})
        if (m, d) in wanted
    }


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


def _countable(source: Source) -> bool:
    """Whether an aggregate's per-cell row counts of ``source`` are its numbers of people: one
    record per row and no person keys that could join rows into one person."""
    persons = source.prepared.identities.column("person_key")
    return source.prepared.unique_records and persons.null_count == len(persons)


def _row_dict(row: ReleaseRow) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in ReleaseRow.__table__.columns}


__all__ = ["Queries"]
