"""``trust.ingest``: make a new version of a dataset from a file, or nothing at all."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from accord.catalogue.contract import Contract
from accord.catalogue.service import dataset_row, parse_ref
from accord.core.engine.sql import ident, lit
from accord.core.store.models import VersionRow
from accord.errors import AccordError, InvalidInput, NotFound
from accord.events import IngestRefused, RowsQuarantined, VersionCreated
from accord.ingest import readers
from accord.ingest.casts import sql_type
from accord.ingest.progress import Progress, ProgressCallback
from accord.ingest.results import IngestResult
from accord.ingest.validate import Checked, SourceError, check_batch
from accord.ingest.writer import (
    DATA_FILE,
    QUARANTINE_FILE,
    dataset_dir,
    dataset_lock,
    file_sha256,
    new_staging,
    publish,
    remove_orphans,
    seal,
    version_dirname,
)
from accord.policy import roles

if TYPE_CHECKING:
    from accord.catalogue.models import User
    from accord.trust import Trust

MODES = ("replace", "upsert")
# DuckDB spills to the staging folder beyond this, keeping an ingest's memory bounded.
MEMORY_LIMIT = os.environ.get("ACCORD_INGEST_MEMORY_LIMIT", "1GB")
# Test hook: seconds to sleep after the version's files are in place but before the commit,
# so a test can kill the process at the most delicate moment.
PAUSE_HOOK = "ACCORD_TEST_PAUSE_BEFORE_COMMIT"


class Ingest:
    """Ingest files into versions of a dataset (``trust.ingest``).

    Examples:
        >>> result = trust.ingest.ingest("camden/pupils", "pupils.csv")  # doctest: +SKIP
        >>> result.version, result.rows_quarantined  # doctest: +SKIP
        (1, 12)
        >>> trust.ingest.quarantine("camden/pupils").to_pylist()[0]  # doctest: +SKIP
        {'row_number': 7, 'field': 'date_of_birth', 'rule': 'date', 'reason': ...}
    """

    def __init__(self, trust: Trust) -> None:
        self.trust = trust

    # -- writing ---------------------------------------------------------------------------

    def ingest(
        self,
        ref: str,
        source: Path | str | pa.Table,
        mode: str = "replace",
        progress: ProgressCallback | None = None,
        *,
        actor: User | None = None,
    ) -> IngestResult:
        """Check ``source`` against the dataset's contract and store the good rows as a new
        version; rows that break the contract go to quarantine with their reasons.

        ``mode="replace"`` makes the version from this file alone; ``mode="upsert"`` keeps the
        previous version's rows whose primary key the file does not hold and adds the file's
        good rows (changed rows replaced, new rows added). A file that cannot be read, lacks a
        required column, or has no good row is refused and nothing changes.

        Examples:
            >>> trust.ingest.ingest("camden/pupils", "spring.csv", mode="upsert")  # doctest: +SKIP
        """
        started = time.perf_counter()
        actor = self.trust.catalogue.uploader(ref, actor)  # a data owner of its member or admin
        if mode not in MODES:
            raise InvalidInput(f"Unknown ingest mode {mode!r}: use replace or upsert")
        member, name = parse_ref(ref)
        ref = f"{member}/{name}"
        contract = self.trust.catalogue.contract(ref)
        source_name = "arrow table" if isinstance(source, pa.Table) else Path(source).name
        if mode == "upsert" and not contract.primary_key:
            self._refuse(
                ref,
                source_name,
                actor,
                InvalidInput(
                    f"Cannot upsert into {ref}: its contract has no primaryKey to match rows on. "
                    "Use --mode replace, or add a primaryKey to the contract."
                ),
            )
        folder = dataset_dir(self.trust.settings.data_dir, member, name)
        with dataset_lock(folder):
            versions = self.trust.catalogue.versions(ref)
            remove_orphans(folder, {v.number for v in versions})
            previous = versions[-1].number if versions else None
            staging = new_staging(folder)
            try:
                try:
                    result = self._build(ref, contract, source, mode, previous, staging, progress)
                except AccordError as exc:
                    self._refuse(ref, source_name, actor, exc)
                number = (previous or 0) + 1
                final = folder / version_dirname(number)
                seal(staging)
                sha = file_sha256(staging / DATA_FILE)
                publish(staging, final)
                _pause_for_tests()
                try:
                    self._commit(ref, result, number, final, sha, contract, actor)
                except BaseException:
                    shutil.rmtree(final, ignore_errors=True)
                    raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        result.version = number
        result.seconds = time.perf_counter() - started
        if progress is not None:
            progress("done", 1.0)
        return result

    def _build(
        self,
        ref: str,
        contract: Contract,
        source: Path | str | pa.Table,
        mode: str,
        previous: int | None,
        staging: Path,
        progress: ProgressCallback | None,
    ) -> IngestResult:
        con = duckdb.connect(
            config={
                "temp_directory": str(staging / "spill"),
                "memory_limit": MEMORY_LIMIT,
                "preserve_insertion_order": True,
            }
        )
        try:
            watch = Progress(con, progress)
            loaded, match = readers.load(con, source, contract, staging, watch)
            # One pass reads the source, types every value and runs every row rule.
            with watch.stage("reading and checking", 0.05, 0.7):
                try:
                    checked = check_batch(con, contract, match.mapping, loaded.relation)
                except SourceError as exc:
                    raise readers.unreadable(loaded, exc.error) from exc
            _refuse_empty(loaded.name, checked)
            rows_out = self._write(con, ref, contract, checked, mode, previous, staging, watch)
        finally:
            con.close()
        return IngestResult(
            ref=ref,
            version=0,
            mode=mode,
            source=loaded.name,
            format=loaded.format,
            encoding=loaded.encoding,
            delimiter=loaded.delimiter,
            rows_read=checked.rows_read,
            rows_accepted=checked.rows_accepted,
            rows_quarantined=checked.rows_quarantined,
            row_count=rows_out,
            reasons=checked.reasons,
            missing_columns=match.missing_optional,
            ignored_columns=match.ignored,
        )

    def _write(
        self,
        con: duckdb.DuckDBPyConnection,
        ref: str,
        contract: Contract,
        checked: Checked,
        mode: str,
        previous: int | None,
        staging: Path,
        watch: Progress,
    ) -> int:
        data = staging / DATA_FILE
        rows_sql = checked.good_sql
        if mode == "upsert" and previous is not None:
            con.execute(f"CREATE OR REPLACE TEMP TABLE good AS {checked.good_sql}")
            rows_sql = self._upsert_sql(con, ref, contract, previous)
        # zstd at level 1: as fast to write as snappy here (measured), half the size, so the
        # checksum and fsync that follow have half as much to read and flush.
        options = "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)"
        with watch.stage("writing", 0.7, 0.95):
            con.execute(f"COPY ({rows_sql}) TO {lit(data)} {options}")
            con.execute(
                f"COPY ({checked.quarantine_sql}) TO {lit(staging / QUARANTINE_FILE)} {options}"
            )
        return pq.ParquetFile(data).metadata.num_rows

    def _upsert_sql(
        self, con: duckdb.DuckDBPyConnection, ref: str, contract: Contract, previous: int
    ) -> str:
        old = self.version_path(ref, previous)
        old_columns = {
            str(r[0])
            for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(old)})").fetchall()
        }
        lacking = [f for f in contract.field_names() if f not in old_columns]
        if lacking:
            raise InvalidInput(
                f"Cannot upsert into {ref}: version {previous} has no column "
                f"{', '.join(lacking)} (the contract changed since); ingest with --mode replace"
            )
        kept = ", ".join(
            f"CAST(p.{ident(s.name)} AS {sql_type(s)}) AS {ident(s.name)}" for s in contract.fields
        )
        same_key = " AND ".join(f"g.{ident(k)} = p.{ident(k)}" for k in contract.primary_key)
        return (
            f"SELECT {kept} FROM read_parquet({lit(old)}) p "
            f"WHERE NOT EXISTS (SELECT 1 FROM good g WHERE {same_key}) "
            "UNION ALL SELECT * FROM good"
        )

    def _commit(
        self,
        ref: str,
        result: IngestResult,
        number: int,
        final: Path,
        sha: str,
        contract: Contract,
        actor: User,
    ) -> None:
        member, name = parse_ref(ref)
        with self.trust.unit_of_work(actor) as uow:
            dataset = dataset_row(uow.session, ref)
            if dataset.contract_sha256 != contract.sha256():
                raise InvalidInput(
                    f"The contract of {ref} changed during the ingest; nothing was stored, "
                    "run the ingest again"
                )
            uow.session.add(
                VersionRow(
                    dataset=dataset,
                    number=number,
                    mode=result.mode,
                    path=str(final.relative_to(self.trust.home)),
                    source_name=result.source[:500],
                    rows_read=result.rows_read,
                    rows_accepted=result.rows_accepted,
                    rows_quarantined=result.rows_quarantined,
                    row_count=result.row_count,
                    sha256=sha,
                    contract_sha256=dataset.contract_sha256,
                )
            )
            uow.emit(
                VersionCreated(
                    member=member,
                    dataset=name,
                    version=number,
                    mode=result.mode,
                    source=result.source,
                    rows_read=result.rows_read,
                    rows_accepted=result.rows_accepted,
                    rows_quarantined=result.rows_quarantined,
                    row_count=result.row_count,
                    sha256=sha,
                )
            )
            if result.rows_quarantined:
                uow.emit(
                    RowsQuarantined(
                        member=member,
                        dataset=name,
                        version=number,
                        rows=result.rows_quarantined,
                        reasons=result.reason_counts(),
                    )
                )

    def _refuse(self, ref: str, source: str, actor: User, error: AccordError) -> NoReturn:
        """Record that an ingest was refused (and why), then raise ``error``."""
        member, name = parse_ref(ref)
        with self.trust.unit_of_work(actor) as uow:
            uow.emit(
                IngestRefused(member=member, dataset=name, source=source, reason=str(error)[:2000])
            )
        raise error

    # -- reading ---------------------------------------------------------------------------

    def version_path(self, ref: str, version: int | None = None) -> Path:
        """The Parquet file of a version (the latest when ``version`` is None).

        Examples:
            >>> path = trust.ingest.version_path("camden/pupils")  # doctest: +SKIP
            >>> duckdb.read_parquet(str(path))  # doctest: +SKIP
        """
        found = self.trust.catalogue.version(ref, version)
        return self.trust.home / found.path / DATA_FILE

    def read_version(self, ref: str, version: int | None = None) -> pa.Table:
        """The rows of a version, with the contract's types."""
        return pq.read_table(self.version_path(ref, version))

    def quarantine(
        self, ref: str, version: int | None = None, *, actor: User | None = None
    ) -> pa.Table:
        """The rejected rows of a version (the latest when ``version`` is None): row_number,
        field, rule, reason and the raw values of the row (a row with several problems has one
        line per problem).

        Those raw values may be anyone's personal data, so only those who look after the
        dataset's member's data see them (``accord.policy.roles.may_look_after_data``): a data
        owner or admin of that member, or the trust operator (``actor``; the operator when not
        given). Anyone else is refused, saying why.

        Examples:
            >>> owner = trust.catalogue.get_user("owner@camden.gov.uk")  # doctest: +SKIP
            >>> trust.ingest.quarantine("camden/pupils", actor=owner)  # doctest: +SKIP
        """
        member, name = parse_ref(ref)
        ref = f"{member}/{name}"
        roles.look_after_data(
            self.trust.acting(actor), member, f"see the rows quarantined from {ref}"
        )
        path = self.version_path(ref, version).with_name(QUARANTINE_FILE)
        if not path.exists():
            raise NotFound(f"Version {version or 'latest'} of {ref} has no quarantine file")
        return pq.read_table(path)


def _refuse_empty(name: str, checked: Checked) -> None:
    if checked.rows_read == 0:
        raise InvalidInput(f"{name} has a header but no data rows; nothing was changed")
    if checked.rows_accepted == 0:
        top = [f"{r.field}: {r.reason} ({r.rows} rows)" for r in checked.reasons[:5]]
        raise InvalidInput(
            f"None of the {checked.rows_read} rows of {name} meets the contract, so no version "
            "was made and nothing was changed. Most common problems:",
            details=top,
        )


def _pause_for_tests() -> None:
    seconds = os.environ.get(PAUSE_HOOK)
    if seconds:
        time.sleep(float(seconds))
