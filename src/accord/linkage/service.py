"""The linkage service (``trust.linkage``): the core wired to agreements, data and the log.

Who may do what is decided here, with ``accord.policy.roles``: the methods that run, show or
change an agreement's linkage take the acting user (``actor``; the trust operator when not given)
and refuse, saying why, anyone the rule does not allow. The actor is recorded on every event.

Examples:
    >>> owner = trust.catalogue.get_user("owner@camden.gov.uk")  # doctest: +SKIP
    >>> run = trust.linkage.run("fsm-camden-islington", actor=owner)  # doctest: +SKIP
    >>> trust.linkage.keys_path("fsm-camden-islington")  # doctest: +SKIP
    PosixPath('.../data/linkage/fsm-camden-islington/keys.parquet')
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Select, func, insert, select, update
from sqlalchemy.orm import Session

from accord.catalogue.contract import Contract, Role
from accord.core.store.base import utcnow
from accord.errors import InvalidInput, NotFound
from accord.linkage import absence, blocking
from accord.linkage.clustering import cluster
from accord.linkage.engine import LinkConfig, LinkResult, link
from accord.linkage.events import (
    LinkExported,
    LinkRunCompleted,
    PersonKeysMerged,
    PersonKeysSplit,
    ReviewDecided,
)
from accord.linkage.explain import (
    Explanation,
    SharedRecord,
    explanation_from_waterfall,
    identifier_share,
    read_record,
    with_evidence,
)
from accord.linkage.incremental import IncrementalMatcher, Match
from accord.linkage.keys import KeyAssignment, as_previous, assign_keys
from accord.linkage.models import (
    KeyLineageRow,
    LinkModelRow,
    LinkRunRow,
    PersonKeyRow,
    ReviewRow,
)
from accord.linkage.records import LinkRun, LinkStatus, ReviewItem, parse_record, record_text
from accord.linkage.scope import Share, filter_shared, read_shared, shares_of
from accord.linkage.scoring import Scorer, term_frequencies
from accord.linkage.source import LinkSource
from accord.linkage.weights import WeightHistogram, weight_histogram
from accord.policy.roles import (
    export_linkage,
    link_other_datasets,
    may_review_linkage,
    may_see_linkage,
    review_linkage,
    see_linkage,
)

if TYPE_CHECKING:
    from accord.agreements.status import AgreementStatus
    from accord.catalogue.models import User
    from accord.trust import Trust

Progress = Callable[[str], None]
KEYS_FILE = "keys.parquet"


@dataclass
class PairReview:
    """One pair as its reviewer sees it (``trust.linkage.review_pair``)."""

    explanation: Explanation  # the waterfall and the two records' shared fields
    item: ReviewItem | None  # its place in the review queue (open or decided); None if never queued


@dataclass
class LinkagePage:
    """An agreement's linkage as its page shows it (``trust.linkage.page``)."""

    status: LinkStatus
    reviewer: bool  # whether the actor may run, review and decide (the page offers only that)
    queue: list[ReviewItem]  # the requested slice of the open pairs, most likely first
    weights: WeightHistogram | None  # the last full run's match weights; None before a run


class Linkage:
    """Linkage of one trust: runs, person keys, review, explanations, incremental matching."""

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self._matchers: dict[str, IncrementalMatcher] = {}

    # -- who may ---------------------------------------------------------------------------

    def _parties(
        self, actor: User, agreement_id: str, *, unlisted: bool = False
    ) -> tuple[list[str], list[str]]:
        """(controllers, recipients) of the agreement; NotFound for an unknown agreement.

        Linkage over named datasets may run under an id no stored agreement has (a trust being
        set up, a test): that linkage has no parties, and only an admin may touch it.
        """
        try:
            found = self.trust.agreements.status(agreement_id)
        except NotFound:
            if actor.has_role("admin") and (unlisted or self._has_runs(agreement_id)):
                return [], []
            raise
        return list(found.controllers), list(found.recipients)

    def _require_see(self, actor: User, agreement_id: str) -> None:
        see_linkage(actor, agreement_id, *self._parties(actor, agreement_id))

    def _require_review(
        self, actor: User, agreement_id: str, action: str, *, unlisted: bool = False
    ) -> None:
        controllers, recipients = self._parties(actor, agreement_id, unlisted=unlisted)
        see_linkage(actor, agreement_id, controllers, recipients)
        review_linkage(actor, agreement_id, controllers, action)

    def overview(self, *, actor: User) -> list[tuple[AgreementStatus, LinkStatus]]:
        """The agreements permitting linkage that ``actor`` may see, each with its linkage
        status (an admin sees all; anyone else those their member is a party to)."""
        seen = []
        for status in self.trust.agreements.list():
            if not may_see_linkage(actor, status.controllers, status.recipients):
                continue
            if not self.trust.agreements.get(status.id).linkage.permitted:
                continue
            seen.append((status, self._status(status.id)))
        return seen

    def _has_runs(self, agreement_id: str) -> bool:
        with self.trust.store.sessions() as session:
            return (
                session.scalar(
                    select(LinkRunRow.id).where(LinkRunRow.agreement == agreement_id).limit(1)
                )
                is not None
            )

    # -- where things live -----------------------------------------------------------------

    def folder(self, agreement_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", agreement_id)
        return self.trust.settings.data_dir / "linkage" / safe

    def keys_path(self, agreement_id: str) -> Path | None:
        """The agreement's current person keys (Parquet: dataset, record_key, person_key,
        match_probability), or None before the first run."""
        path = self.folder(agreement_id) / KEYS_FILE
        return path if path.exists() else None

    # -- running ---------------------------------------------------------------------------

    def run(
        self,
        agreement_id: str,
        backend: str = "duckdb",
        *,
        datasets: Sequence[str] | None = None,
        roles: Sequence[str] | None = None,
        config: LinkConfig | None = None,
        progress: Progress | None = None,
        actor: User | None = None,
    ) -> LinkRun:
        """Link the datasets an active agreement covers and (re)issue person keys.

        The datasets and permitted identifier roles come from the agreement; ``datasets`` and
        ``roles`` may be given instead (e.g. before agreements are set up in a test trust), by
        an admin only. ``actor`` must be a data owner of a controller or an admin.
        """
        actor = self.trust.acting(actor)
        self._require_review(actor, agreement_id, "run linkage", unlisted=datasets is not None)
        if datasets is not None:
            link_other_datasets(actor, agreement_id)
        refs, permitted, agreement_version = self._spec(agreement_id, datasets, roles)
        shares = self._shares(agreement_id, agreement_version)
        sources = [self._source(ref, shares.get(ref)) for ref in refs]
        accepted, rejected = self._decisions(agreement_id)
        result = link(
            sources,
            roles=permitted,
            backend=backend,
            config=config,
            accepted=accepted,
            rejected=rejected,
            progress=progress,
        )
        return self._record_run(agreement_id, agreement_version, result, backend, progress, actor)

    def _spec(
        self, agreement_id: str, datasets: Sequence[str] | None, roles: Sequence[str] | None
    ) -> tuple[list[str], list[Role] | None, int | None]:
        if datasets is not None:
            permitted = [Role(r) for r in roles] if roles is not None else None
            return list(datasets), permitted, None
        try:
            agreements = self.trust.agreements
        except ModuleNotFoundError as exc:  # pragma: no cover - agreements not in this build
            raise InvalidInput("Agreements are not available: pass the datasets to link") from exc
        refs, allowed = agreements.linkage_spec(agreement_id)
        version = agreements.status(agreement_id).in_force_version
        return refs, [Role(r) for r in allowed], version

    def _shares(self, agreement_id: str, agreement_version: int | None) -> dict[str, Share]:
        """What the agreement in force shares of each dataset (nothing to cut without one)."""
        if agreement_version is None:
            return {}
        return shares_of(self.trust.agreements.get(agreement_id, agreement_version).datasets)

    def sources(self, agreement_id: str) -> list[LinkSource]:
        """What a run under an active agreement reads: for each dataset, only the fields the
        agreement shares (and the record key) of the rows inside its row scope.

        Examples:
            >>> sources = trust.linkage.sources("fsm-camden-islington")  # doctest: +SKIP
            >>> [s.read().num_rows for s in sources]  # doctest: +SKIP
            [412, 20113]
        """
        refs, _, version = self._spec(agreement_id, None, None)
        shares = self._shares(agreement_id, version)
        return [self._source(ref, shares.get(ref)) for ref in refs]

    def _source(self, ref: str, share: Share | None = None) -> LinkSource:
        contract = self.trust.catalogue.contract(ref)
        try:
            path = self.trust.ingest.version_path(ref)
        except ModuleNotFoundError:  # pragma: no cover - ingest not in this build
            path = self.trust.home / self.trust.catalogue.version(ref).path
        if share is None:
            return LinkSource(ref, contract, path)
        return LinkSource(ref, contract, read_shared(ref, contract, path, share))

    def _record_run(
        self,
        agreement_id: str,
        agreement_version: int | None,
        result: LinkResult,
        backend: str,
        progress: Progress | None,
        actor: User,
    ) -> LinkRun:
        say = progress or (lambda message: None)
        folder = self.folder(agreement_id)
        number = self._next_run(agreement_id)
        run_dir = folder / f"run-{number:04d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        say("Saving the model, pairs and keys")
        model_text = json.dumps(result.model, indent=1, sort_keys=True, default=str)
        (run_dir / "model.json").write_text(model_text, encoding="utf-8")
        pq.write_table(result.pairs, run_dir / "pairs.parquet")
        pq.write_table(result.clusters.table, run_dir / "clusters.parquet")
        tables = [p.table for p in result.prepared.values()]
        pq.write_table(
            pa.concat_tables(tables, promote_options="default"), run_dir / "prepared.parquet"
        )
        pq.write_table(term_frequencies(tables), run_dir / "tf.parquet")

        previous = self._current_keys(agreement_id)
        with self.trust.store.sessions() as session:
            used = set(session.scalars(select(PersonKeyRow.key)))
        assignment = assign_keys(result.clusters.table, previous, is_used=used.__contains__)
        review = result.review_pairs()
        sizes = result.clusters.sizes()
        summary = {
            "blocking": [c.__dict__ for c in result.blocking],
            "cluster_sizes": {str(k): v for k, v in sizes.items()},
            "timings": result.timings,
            "trained_from": result.trained_from,
            "link_type": result.link_type,
            "household_weights": result.model.get("accord", {}).get("household_weights", {}),
            "invalid_nhs_numbers": {
                ref: p.invalid_nhs_numbers for ref, p in result.prepared.items()
            },
        }
        model_version = self._store_run(
            agreement_id,
            agreement_version,
            number,
            "full",
            backend,
            result,
            assignment,
            review,
            summary,
            run_dir,
            model_text,
            actor,
        )
        self._write_keys(agreement_id, assignment.table, run_dir)
        self._matchers.pop(agreement_id, None)
        return self._run_value(agreement_id, number, model_version)

    def _store_run(
        self,
        agreement_id: str,
        agreement_version: int | None,
        number: int,
        kind: str,
        backend: str,
        result: LinkResult | None,
        assignment: KeyAssignment,
        review: pa.Table | None,
        summary: dict[str, Any],
        run_dir: Path,
        model_text: str | None,
        actor: User | None,
    ) -> int | None:
        """Record a run; its events name ``actor`` (None: records arriving through an ingest,
        whose actor is the ingesting trust's)."""
        model_version: int | None = None
        with self.trust.unit_of_work(actor) as uow:
            session = uow.session
            if model_text is not None and result is not None:
                model_version = 1 + (
                    session.scalar(
                        select(func.max(LinkModelRow.version)).where(
                            LinkModelRow.agreement == agreement_id
                        )
                    )
                    or 0
                )
                session.add(
                    LinkModelRow(
                        agreement=agreement_id,
                        agreement_version=agreement_version,
                        version=model_version,
                        run_number=number,
                        trained_from=result.trained_from,
                        sha256=hashlib.sha256(model_text.encode()).hexdigest(),
                        path=str((run_dir / "model.json").relative_to(self.trust.home)),
                    )
                )
            else:
                model_version = session.scalar(
                    select(func.max(LinkModelRow.version)).where(
                        LinkModelRow.agreement == agreement_id
                    )
                )
            if assignment.created:
                session.execute(
                    insert(PersonKeyRow),
                    [
                        {
                            "key": k,
                            "agreement": agreement_id,
                            "created_in_run": number,
                            "retired_in_run": None,
                        }
                        for k in assignment.created
                    ],
                )
            if assignment.retired:
                for start in range(0, len(assignment.retired), 500):
                    session.execute(
                        update(PersonKeyRow)
                        .where(PersonKeyRow.key.in_(assignment.retired[start : start + 500]))
                        .values(retired_in_run=number)
                    )
            for kept, absorbed in assignment.merges:
                session.add(
                    KeyLineageRow(
                        agreement=agreement_id,
                        run_number=number,
                        kind="merge",
                        key=kept,
                        related=absorbed,
                    )
                )
                uow.emit(
                    PersonKeysMerged(
                        agreement=agreement_id, run=number, kept=kept, absorbed=absorbed
                    )
                )
            for key, into in assignment.splits:
                session.add(
                    KeyLineageRow(
                        agreement=agreement_id,
                        run_number=number,
                        kind="split",
                        key=key,
                        related=into,
                    )
                )
                uow.emit(PersonKeysSplit(agreement=agreement_id, run=number, key=key, into=into))
            added = self._queue(session, agreement_id, number, review) if review is not None else 0
            datasets = sorted(set(assignment.table.column("dataset").to_pylist()))
            records = assignment.table.num_rows
            clusters = len(pc.unique(assignment.table.column("person_key")))
            pairs = result.pairs.num_rows if result is not None else int(summary.get("pairs", 0))
            roles = (
                [r.value for r in result.roles] if result is not None else summary.get("roles", [])
            )
            config = result.config if result is not None else None
            session.add(
                LinkRunRow(
                    agreement=agreement_id,
                    agreement_version=agreement_version,
                    number=number,
                    kind=kind,
                    backend=backend,
                    model_version=model_version,
                    datasets=datasets,
                    roles=roles,
                    link_threshold=config.link_threshold if config else summary["link_threshold"],
                    review_floor=config.review_floor if config else summary["review_floor"],
                    records=records,
                    pairs=pairs,
                    clusters=clusters,
                    review_added=added,
                    keys_created=len(assignment.created),
                    keys_retired=len(assignment.retired),
                    path=str(run_dir.relative_to(self.trust.home)),
                    summary=summary,
                    started_at=utcnow(),
                    finished_at=utcnow(),
                )
            )
            uow.emit(
                LinkRunCompleted(
                    agreement=agreement_id,
                    agreement_version=agreement_version,
                    run=number,
                    run_kind=kind,
                    backend=backend,
                    model_version=model_version,
                    datasets=datasets,
                    records=records,
                    pairs=pairs,
                    clusters=clusters,
                    review_added=added,
                    keys_created=len(assignment.created),
                    keys_retired=len(assignment.retired),
                )
            )
        return model_version

    def _queue(self, session: Session, agreement_id: str, number: int, review: pa.Table) -> int:
        existing = {
            (r.dataset_l, r.record_l, r.dataset_r, r.record_r)
            for r in session.scalars(select(ReviewRow).where(ReviewRow.agreement == agreement_id))
        }
        rows = []
        for item in review.to_pylist():
            a = (item["source_dataset_l"], item["unique_id_l"])
            b = (item["source_dataset_r"], item["unique_id_r"])
            a, b = sorted([a, b])
            if (*a, *b) in existing:
                continue
            existing.add((*a, *b))
            rows.append(
                {
                    "agreement": agreement_id,
                    "dataset_l": a[0],
                    "record_l": a[1],
                    "dataset_r": b[0],
                    "record_r": b[1],
                    "match_probability": item["match_probability"],
                    "run_number": number,
                    "status": "open",
                    "created_at": utcnow(),
                }
            )
        if rows:
            session.execute(insert(ReviewRow), rows)
        return len(rows)

    def _write_keys(self, agreement_id: str, table: pa.Table, run_dir: Path) -> None:
        pq.write_table(table, run_dir / KEYS_FILE)
        target = self.folder(agreement_id) / KEYS_FILE
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(run_dir / KEYS_FILE, tmp)
        tmp.replace(target)  # readers never see a half-written file

    def _read_keys(self, agreement_id: str) -> pa.Table:
        """The agreement's current person keys (``keys_path``); NotFound before the first run."""
        path = self.keys_path(agreement_id)
        if path is None:
            raise NotFound(
                f"Agreement {agreement_id} has no person keys yet: "
                f"run accord link run {agreement_id}"
            )
        return pq.read_table(path)

    def _current_keys(self, agreement_id: str) -> pa.Table | None:
        path = self.keys_path(agreement_id)
        return as_previous(pq.read_table(path)) if path else None

    def _next_run(self, agreement_id: str) -> int:
        with self.trust.store.sessions() as session:
            return 1 + (
                session.scalar(
                    select(func.max(LinkRunRow.number)).where(LinkRunRow.agreement == agreement_id)
                )
                or 0
            )

    def _latest_full_run(self, agreement_id: str) -> LinkRunRow:
        with self.trust.store.sessions() as session:
            row = session.scalar(
                select(LinkRunRow)
                .where(LinkRunRow.agreement == agreement_id, LinkRunRow.kind == "full")
                .order_by(LinkRunRow.number.desc())
                .limit(1)
            )
        if row is None:
            raise NotFound(
                f"Agreement {agreement_id} has not been linked yet: "
                f"run accord link run {agreement_id}"
            )
        return row

    def _run_value(
        self, agreement_id: str, number: int, model_version: int | None = None
    ) -> LinkRun:
        with self.trust.store.sessions() as session:
            row = session.scalar(
                select(LinkRunRow).where(
                    LinkRunRow.agreement == agreement_id, LinkRunRow.number == number
                )
            )
            return _run(row)

    # -- review ----------------------------------------------------------------------------

    def _decisions(self, agreement_id: str) -> tuple[list, list]:
        accepted, rejected = [], []
        with self.trust.store.sessions() as session:
            rows = session.scalars(
                select(ReviewRow).where(
                    ReviewRow.agreement == agreement_id, ReviewRow.status != "open"
                )
            )
            for row in rows:
                pair = ((row.dataset_l, row.record_l), (row.dataset_r, row.record_r))
                (accepted if row.status == "accepted" else rejected).append(pair)
        return accepted, rejected

    def page(
        self, agreement_id: str, *, actor: User, offset: int = 0, limit: int = 25, bins: int = 30
    ) -> LinkagePage:
        """Status, match-weight histogram and, for a reviewer, ``limit`` open pairs from
        ``offset``: what an agreement's linkage page shows, with one permission check and only
        the slice of the queue it shows read. For anyone acting for a party, or an admin.

        Examples:
            >>> shown = trust.linkage.page("fsm-2026", actor=owner, offset=25)  # doctest: +SKIP
            >>> shown.reviewer, len(shown.queue), shown.status.review_open  # doctest: +SKIP
            (True, 25, 72)
        """
        controllers, recipients = self._parties(actor, agreement_id)
        see_linkage(actor, agreement_id, controllers, recipients)
        reviewer = may_review_linkage(actor, controllers)
        queue = self._open_pairs(agreement_id, offset=offset, limit=limit) if reviewer else []
        return LinkagePage(
            self._status(agreement_id), reviewer, queue, self._weights(agreement_id, bins)
        )

    def review_queue(
        self,
        agreement_id: str,
        *,
        include_decided: bool = False,
        actor: User | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ReviewItem]:
        """Pairs awaiting a reviewer (most likely matches first), or all with
        ``include_decided``; ``limit`` of them from ``offset`` when given (only those are
        read). For a data owner of a controller or an admin (``actor``).

        Examples:
            >>> page = trust.linkage.review_queue("fsm-2026", offset=50, limit=50)  # doctest: +SKIP
            >>> len(page), trust.linkage.review_total("fsm-2026")  # doctest: +SKIP
            (22, 72)
        """
        self._require_review(self.trust.acting(actor), agreement_id, "see the review queue")
        return self._open_pairs(
            agreement_id, include_decided=include_decided, offset=offset, limit=limit
        )

    def review_total(
        self, agreement_id: str, *, include_decided: bool = False, actor: User | None = None
    ) -> int:
        """How many pairs ``review_queue`` lists in all (counted, not read)."""
        self._require_review(self.trust.acting(actor), agreement_id, "see the review queue")
        with self.trust.store.sessions() as session:
            listed = _review_rows(agreement_id, include_decided).subquery()
            return int(session.scalar(select(func.count()).select_from(listed)) or 0)

    def _open_pairs(
        self,
        agreement_id: str,
        *,
        include_decided: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[ReviewItem]:
        with self.trust.store.sessions() as session:
            query = _review_rows(agreement_id, include_decided).order_by(
                ReviewRow.match_probability.desc(), ReviewRow.id
            )
            rows = session.scalars(query.offset(max(offset, 0)).limit(limit))
            return [_review(r) for r in rows]

    def decide(
        self,
        agreement_id: str,
        record_a: str,
        record_b: str,
        accept: bool,
        *,
        actor: User | None = None,
    ) -> ReviewItem:
        """Accept or reject a pair: it overrides the model for that pair at once (the agreement's
        clusters and keys are rebuilt from the last run's pairs) and feeds the next training.
        ``actor`` (a data owner of a controller or an admin) is recorded as the reviewer."""
        actor = self.trust.acting(actor)
        self._require_review(actor, agreement_id, "accept or reject a pair")
        a, b = sorted([parse_record(record_a), parse_record(record_b)])
        run = self._latest_full_run(agreement_id)
        status = "accepted" if accept else "rejected"
        with self.trust.unit_of_work(actor) as uow:
            row = _pair_row(uow.session, agreement_id, a, b)
            if row is None:
                self._check_records(run, [a, b])
                row = ReviewRow(
                    agreement=agreement_id,
                    dataset_l=a[0],
                    record_l=a[1],
                    dataset_r=b[0],
                    record_r=b[1],
                    match_probability=None,
                    run_number=run.number,
                )
                uow.session.add(row)
            row.status, row.reviewer, row.decided_at = status, actor.email, utcnow()
            uow.emit(
                ReviewDecided(
                    agreement=agreement_id,
                    record_a=record_text(*a),
                    record_b=record_text(*b),
                    decision=status,
                    match_probability=row.match_probability,
                )
            )
            uow.session.flush()
            item = _review(row)
        self._recluster(agreement_id, actor)
        return item

    def _check_records(self, run: LinkRunRow, records: list[tuple[str, str]]) -> None:
        clusters = pq.read_table(self.trust.home / run.path / "clusters.parquet")
        known = set(
            zip(
                clusters.column("source_dataset").to_pylist(),
                clusters.column("unique_id").to_pylist(),
                strict=True,
            )
        )
        for dataset, key in records:
            if (dataset, key) not in known:
                raise NotFound(
                    f"Record {dataset}:{key} was not part of the last linkage of {run.agreement}"
                )

    def recluster(self, agreement_id: str, *, actor: User | None = None) -> LinkRun:
        """Rebuild clusters and keys from the last run's scored pairs and all review decisions.
        For a data owner of a controller or an admin (``actor``)."""
        actor = self.trust.acting(actor)
        self._require_review(actor, agreement_id, "rebuild the people of a linkage")
        return self._recluster(agreement_id, actor)

    def _recluster(self, agreement_id: str, actor: User) -> LinkRun:
        run = self._latest_full_run(agreement_id)
        run_dir = self.trust.home / run.path
        pairs = pq.read_table(run_dir / "pairs.parquet")
        nodes = pq.read_table(run_dir / "clusters.parquet").select(["source_dataset", "unique_id"])
        accepted, rejected = self._decisions(agreement_id)
        duplicate_free = [
            ref
            for ref in run.datasets
            if not self.trust.catalogue.contract(ref).may_hold_duplicates
        ]
        clusters = cluster(
            nodes,
            pairs,
            threshold=run.link_threshold,
            duplicate_free=duplicate_free,
            accepted=accepted,
            rejected=rejected,
        )
        previous = self._current_keys(agreement_id)
        with self.trust.store.sessions() as session:
            used = set(session.scalars(select(PersonKeyRow.key)))
        assignment = assign_keys(clusters.table, previous, is_used=used.__contains__)
        number = self._next_run(agreement_id)
        out = self.folder(agreement_id) / f"run-{number:04d}"
        out.mkdir(parents=True, exist_ok=True)
        summary = {
            "cluster_sizes": {str(k): v for k, v in clusters.sizes().items()},
            "pairs": pairs.num_rows,
            "roles": run.roles,
            "link_threshold": run.link_threshold,
            "review_floor": run.review_floor,
            "from_run": run.number,
        }
        self._store_run(
            agreement_id,
            run.agreement_version,
            number,
            "recluster",
            run.backend,
            None,
            assignment,
            None,
            summary,
            out,
            None,
            actor,
        )
        self._write_keys(agreement_id, assignment.table, out)
        self._matchers.pop(agreement_id, None)
        return self._run_value(agreement_id, number)

    # -- reading ---------------------------------------------------------------------------

    def status(self, agreement_id: str, *, actor: User | None = None) -> LinkStatus:
        """Model, thresholds, counts of pairs, clusters and review size of an agreement.
        For anyone acting for a party to the agreement, or an admin (``actor``)."""
        self._require_see(self.trust.acting(actor), agreement_id)
        return self._status(agreement_id)

    def weights(
        self, agreement_id: str, *, bins: int = 30, actor: User | None = None
    ) -> WeightHistogram | None:
        """How the last full run's scored pairs are spread by match weight, in ``bins``
        equal-width bins that also span the review floor and the link threshold; None before
        the first run. Counted by DuckDB from the run's stored pairs. For anyone acting for a
        party to the agreement, or an admin (``actor``).

        Examples:
            >>> found = trust.linkage.weights("fsm-2026", actor=analyst)  # doctest: +SKIP
            >>> found.pairs, found.linked, found.to_review  # doctest: +SKIP
            (612, 540, 72)
        """
        self._require_see(self.trust.acting(actor), agreement_id)
        return self._weights(agreement_id, bins)

    def _weights(self, agreement_id: str, bins: int) -> WeightHistogram | None:
        if bins < 1:
            raise InvalidInput(f"A histogram needs at least one bin, not {bins}")
        try:
            run = self._latest_full_run(agreement_id)
        except NotFound:
            return None
        return weight_histogram(
            agreement_id,
            run.number,
            self.trust.home / run.path / "pairs.parquet",
            link_threshold=run.link_threshold,
            review_floor=run.review_floor,
            bins=bins,
        )

    def _status(self, agreement_id: str) -> LinkStatus:
        with self.trust.store.sessions() as session:
            row = session.scalar(
                select(LinkRunRow)
                .where(LinkRunRow.agreement == agreement_id)
                .order_by(LinkRunRow.number.desc())
                .limit(1)
            )
            model = session.scalar(
                select(LinkModelRow)
                .where(LinkModelRow.agreement == agreement_id)
                .order_by(LinkModelRow.version.desc())
                .limit(1)
            )
            # Group by the status itself: PostgreSQL will not group by a bound comparison.
            by_status = session.execute(
                select(ReviewRow.status, func.count())
                .where(ReviewRow.agreement == agreement_id)
                .group_by(ReviewRow.status)
            ).all()
            counts = {True: 0, False: 0}
            for status, count in by_status:
                counts[status == "open"] += count
            keys = session.scalar(
                select(func.count())
                .select_from(PersonKeyRow)
                .where(
                    PersonKeyRow.agreement == agreement_id, PersonKeyRow.retired_in_run.is_(None)
                )
            )
        return LinkStatus(
            agreement=agreement_id,
            run=_run(row) if row else None,
            model_version=model.version if model else None,
            model_path=model.path if model else None,
            review_open=counts.get(True, 0),
            review_decided=counts.get(False, 0),
            person_keys=keys or 0,
        )

    def model(self, agreement_id: str) -> dict[str, Any]:
        """The current trained model (Splink settings JSON)."""
        run = self._latest_full_run(agreement_id)
        return json.loads((self.trust.home / run.path / "model.json").read_text(encoding="utf-8"))

    def _scorer(self, run: LinkRunRow) -> tuple[Scorer, pa.Table]:
        run_dir = self.trust.home / run.path
        model = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
        return Scorer(model, pq.read_table(run_dir / "tf.parquet")), pq.read_table(
            run_dir / "prepared.parquet"
        )

    def explain(
        self, agreement_id: str, record_a: str, record_b: str, *, actor: User | None = None
    ) -> Explanation:
        """What each comparison contributed to the match weight of a pair (waterfall), and the
        two records' shared fields as they stand in their datasets' latest versions.

        The records are people's identifiers, so only a data owner of a controller or an admin
        (``actor``) may see them, and only the fields the agreement shares.
        """
        self._require_review(self.trust.acting(actor), agreement_id, "see the records of a pair")
        return self._explain(agreement_id, record_a, record_b)

    def review_pair(
        self, agreement_id: str, record_a: str, record_b: str, *, actor: User | None = None
    ) -> PairReview:
        """One pair for its reviewer: the explanation (as :meth:`explain`) and the pair's review
        item, open or decided, or None if it was never queued, in either order of the records.
        One permission check (as :meth:`explain`) and one look-up of the pair, however long the
        queue.

        Examples:
            >>> pair = trust.linkage.review_pair(  # doctest: +SKIP
            ...     "fsm-camden-islington", "camden/pupils:P1", "islington/residents:R9",
            ...     actor=owner)
            >>> pair.item.status if pair.item else "not queued"  # doctest: +SKIP
            'open'
        """
        self._require_review(self.trust.acting(actor), agreement_id, "see the records of a pair")
        explanation = self._explain(agreement_id, record_a, record_b)
        a, b = sorted([parse_record(record_a), parse_record(record_b)])
        with self.trust.store.sessions() as session:
            row = _pair_row(session, agreement_id, a, b)
            item = _review(row) if row is not None else None
        return PairReview(explanation, item)

    def _explain(self, agreement_id: str, record_a: str, record_b: str) -> Explanation:
        run = self._latest_full_run(agreement_id)
        scorer, prepared = self._scorer(run)
        rows = []
        keys = []
        for text in (record_a, record_b):
            dataset, key = parse_record(text)
            found = prepared.filter(
                pc.and_(
                    pc.equal(prepared["source_dataset"], dataset),
                    pc.equal(prepared["unique_id"], key),
                )
            )
            if found.num_rows == 0:
                raise NotFound(f"Record {text} was not part of the last linkage of {agreement_id}")
            rows.append(found)
            keys.append((dataset, key))
        explanation = explanation_from_waterfall(scorer.waterfall(rows[0], rows[1]))
        # Evidence the run measured beside the comparisons (absence.py) has lines of its own.
        lines = absence.evidence(
            scorer.accord.get("absence_weights", {}), rows[0], rows[1], prepared
        )
        explanation = with_evidence(explanation, lines)
        # The run's own score of the pair also counts the steps after Splink's (associative
        # matching, candidates that exclude each other): their sum is a line of its own, so
        # the explanation ends at the probability the queue and the clusters used.
        final = _run_weight(self.trust.home / run.path / "pairs.parquet", *keys)
        if final is not None and abs(final - explanation.match_weight) >= 0.001:
            step = (
                "this run",
                "household moves, competing candidates",
                final - explanation.match_weight,
            )
            explanation = with_evidence(explanation, [step], name="after scoring")
        shares = self._shares(agreement_id, run.agreement_version)
        explanation.records = [self._shared_record(ref, key, shares) for ref, key in keys]
        return explanation

    def _shared_record(self, ref: str, key: str, shares: dict[str, Share]) -> SharedRecord:
        contract = self.trust.catalogue.contract(ref)
        share = shares.get(ref) or identifier_share(contract)
        try:
            path = self.trust.ingest.version_path(ref)
        except ModuleNotFoundError:  # pragma: no cover - ingest not in this build
            path = self.trust.home / self.trust.catalogue.version(ref).path
        return read_record(ref, contract, path, share, key)

    def export(
        self,
        agreement_id: str,
        out: Path | str,
        *,
        actor: User | None = None,
    ) -> int:
        """Write one row per record (member, dataset, primary key, person key, probability to its
        cluster) to Parquet. For the trust's administrators only (``actor``); the export is
        recorded in the log before the file is written.
        """
        actor = self.trust.acting(actor)
        export_linkage(actor, agreement_id)
        self._require_see(actor, agreement_id)
        keys = self._read_keys(agreement_id)
        datasets = keys.column("dataset").to_pylist()
        table = pa.table(
            {
                "member": [d.partition("/")[0] for d in datasets],
                "dataset": [d.partition("/")[2] for d in datasets],
                "record_key": keys.column("record_key"),
                "person_key": keys.column("person_key"),
                "match_probability": keys.column("match_probability"),
            }
        )
        out = Path(out)
        with self.trust.unit_of_work(actor) as uow:
            uow.emit(
                LinkExported(
                    agreement=agreement_id,
                    run=self._latest_run_number(agreement_id),
                    rows=table.num_rows,
                    path=str(out.resolve()),
                    by=actor.email,
                )
            )
            pq.write_table(table, out)  # written inside the unit of work: no file without its log
        return table.num_rows

    def _latest_run_number(self, agreement_id: str) -> int:
        return self._next_run(agreement_id) - 1

    # -- incremental -----------------------------------------------------------------------

    def matcher(self, agreement_id: str) -> IncrementalMatcher:
        """The incremental matcher of an agreement (built once from its last run)."""
        if agreement_id in self._matchers:
            return self._matchers[agreement_id]
        run = self._latest_full_run(agreement_id)
        run_dir = self.trust.home / run.path
        model = json.loads((run_dir / "model.json").read_text(encoding="utf-8"))
        prepared = pq.read_table(run_dir / "prepared.parquet")
        keys = self._read_keys(agreement_id)
        population = _with_keys(prepared, keys)
        names = set(model.get("accord", {}).get("rules", []))
        rules = [r for r in blocking.REGISTRY if r.name in names]
        duplicate_free = {
            ref
            for ref in run.datasets
            if not self.trust.catalogue.contract(ref).may_hold_duplicates
        }
        with self.trust.store.sessions() as session:
            used = set(session.scalars(select(PersonKeyRow.key)))
        matcher = IncrementalMatcher(
            model,
            pq.read_table(run_dir / "tf.parquet"),
            population,
            {Role(r) for r in run.roles},
            rules,
            duplicate_free=duplicate_free,
            link_threshold=run.link_threshold,
            review_floor=run.review_floor,
            is_used=used.__contains__,
        )
        self._matchers[agreement_id] = matcher
        return matcher

    def match_records(self, agreement_id: str, ref: str, rows: pa.Table) -> list[Match]:
        """Match records that arrived by upsert against the agreement's people without a re-run:
        each gets a person key (and a review entry when its best link is doubtful)."""
        matcher = self.matcher(agreement_id)
        run = self._latest_full_run(agreement_id)
        contract = self.trust.catalogue.contract(ref)
        share = self._shares(agreement_id, run.agreement_version).get(ref)
        if share is not None:  # records outside the agreement's scope are not shared
            rows = filter_shared(rows, contract, share)
        matches = matcher.match(LinkSource(ref, contract, rows))
        created = [m.person_key for m in matches if m.matched is None or m.review]
        number = self._next_run(agreement_id)
        out = self.folder(agreement_id) / f"run-{number:04d}"
        out.mkdir(parents=True, exist_ok=True)
        keys = self._read_keys(agreement_id)
        arrived = {(m.dataset, m.record_key) for m in matches}
        mask = [
            (d, k) not in arrived
            for d, k in zip(
                keys.column("dataset").to_pylist(),
                keys.column("record_key").to_pylist(),
                strict=True,
            )
        ]
        new_rows = pa.table(
            {
                "dataset": [m.dataset for m in matches],
                "record_key": [m.record_key for m in matches],
                "person_key": [m.person_key for m in matches],
                "match_probability": pa.array(
                    [None if m.review else m.match_probability for m in matches], pa.float64()
                ),
            }
        )
        table = pa.concat_tables([keys.filter(pa.array(mask)), new_rows.cast(keys.schema)])
        review = pa.table(
            {
                "source_dataset_l": [m.dataset for m in matches if m.review],
                "unique_id_l": [m.record_key for m in matches if m.review],
                "source_dataset_r": [m.matched[0] for m in matches if m.review and m.matched],
                "unique_id_r": [m.matched[1] for m in matches if m.review and m.matched],
                "match_probability": [m.match_probability for m in matches if m.review],
            }
        )
        assignment = KeyAssignment(table=table, created=sorted(set(created)))
        summary = {
            "roles": run.roles,
            "link_threshold": run.link_threshold,
            "review_floor": run.review_floor,
            "from_run": run.number,
            "arrived": len(matches),
            "pairs": 0,
        }
        self._store_run(
            agreement_id,
            run.agreement_version,
            number,
            "incremental",
            run.backend,
            None,
            assignment,
            review,
            summary,
            out,
            None,
            None,
        )
        self._write_keys(agreement_id, table, out)
        return matches

    def person_keys_for(
        self, identifiers: dict[str, Any], agreement_id: str | None = None
    ) -> list[str]:
        """Person keys of one person, found by linking the given identifiers (e.g. NHS number and
        date of birth, or name, date of birth and postcode) against every agreement's people."""
        fields = []
        row: dict[str, Any] = {"query_record": "query"}
        for role, value in identifiers.items():
            role = Role(role)
            fields.append(
                {
                    "name": role.value,
                    "type": "string",
                    "accord": {"category": "personal", "role": role.value},
                }
            )
            row[role.value] = None if value is None else str(value)
        contract = Contract.model_validate(
            {
                "name": "citizen_query",
                "owner": "citizen",
                "title": "A citizen's own identifiers",
                "schema": {
                    "primaryKey": "query_record",
                    "fields": [{"name": "query_record", "type": "string"}, *fields],
                },
            }
        )
        with self.trust.store.sessions() as session:
            agreements = (
                [agreement_id]
                if agreement_id
                else list(session.scalars(select(LinkRunRow.agreement).distinct()))
            )
        found: list[str] = []
        for agreement in agreements:
            matcher = self.matcher(agreement)
            source = LinkSource("citizen/citizen_query", contract, pa.Table.from_pylist([row]))
            for key, probability in matcher.lookup(source):
                if probability >= matcher.link_threshold and key not in found:
                    found.append(key)
        return found


def _with_keys(prepared: pa.Table, keys: pa.Table) -> pa.Table:
    lookup = {
        (d, k): p
        for d, k, p in zip(
            keys.column("dataset").to_pylist(),
            keys.column("record_key").to_pylist(),
            keys.column("person_key").to_pylist(),
            strict=True,
        )
    }
    persons = [
        lookup.get((d, k))
        for d, k in zip(
            prepared.column("source_dataset").to_pylist(),
            prepared.column("unique_id").to_pylist(),
            strict=True,
        )
    ]
    return prepared.append_column("person_key", pa.array(persons, pa.string()))


def _run(row: LinkRunRow) -> LinkRun:
    return LinkRun(
        agreement=row.agreement,
        agreement_version=row.agreement_version,
        number=row.number,
        kind=row.kind,
        backend=row.backend,
        model_version=row.model_version,
        datasets=list(row.datasets),
        roles=list(row.roles),
        link_threshold=row.link_threshold,
        review_floor=row.review_floor,
        records=row.records,
        pairs=row.pairs,
        clusters=row.clusters,
        review_added=row.review_added,
        keys_created=row.keys_created,
        keys_retired=row.keys_retired,
        summary=dict(row.summary),
        finished_at=row.finished_at,
    )


def _pair_row(
    session: Session, agreement_id: str, a: tuple[str, str], b: tuple[str, str]
) -> ReviewRow | None:
    """The review row of records ``a`` and ``b`` (dataset, key), given in sorted order as the
    queue keeps them."""
    return session.scalar(
        select(ReviewRow).where(
            ReviewRow.agreement == agreement_id,
            ReviewRow.dataset_l == a[0],
            ReviewRow.record_l == a[1],
            ReviewRow.dataset_r == b[0],
            ReviewRow.record_r == b[1],
        )
    )


def _review_rows(agreement_id: str, include_decided: bool) -> Select[tuple[ReviewRow]]:
    """The review pairs of an agreement that the queue lists: open ones, or all."""
    query = select(ReviewRow).where(ReviewRow.agreement == agreement_id)
    return query if include_decided else query.where(ReviewRow.status == "open")


def _review(row: ReviewRow) -> ReviewItem:
    return ReviewItem(
        id=row.id,
        record_a=record_text(row.dataset_l, row.record_l),
        record_b=record_text(row.dataset_r, row.record_r),
        match_probability=row.match_probability,
        status=row.status,
        reviewer=row.reviewer,
        decided_at=row.decided_at,
    )


def _run_weight(path: Path, a: tuple[str, str], b: tuple[str, str]) -> float | None:
    """The match weight the run gave the pair of records ``a`` and ``b`` (dataset, key), in
    either order, or None if it kept no score for them (below the review floor)."""
    if not path.exists():
        return None

    def one_way(x: tuple[str, str], y: tuple[str, str]) -> list[tuple[str, str, str]]:
        return [
            ("source_dataset_l", "=", x[0]),
            ("unique_id_l", "=", x[1]),
            ("source_dataset_r", "=", y[0]),
            ("unique_id_r", "=", y[1]),
        ]

    found = pq.read_table(path, columns=["match_weight"], filters=[one_way(a, b), one_way(b, a)])
    return float(found.column("match_weight")[0].as_py()) if found.num_rows else None
