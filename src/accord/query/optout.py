"""National data opt-outs: kept as keyed hashes of NHS numbers (never the clear number) and/or
person keys, and applied by lock 2 where an agreement says the opt-out applies."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from sqlalchemy import func, or_, select

from accord.catalogue.contract import Role
from accord.core.crypto.pseudonyms import derive_key, keyed_pseudonym
from accord.core.engine.hmac_sql import hmac_sha256_sql
from accord.core.engine.prepare import NHS_DIGITS, OptOutFilter
from accord.core.engine.sql import ident, lit
from accord.errors import InvalidInput
from accord.query.events import OptOutRecorded, OptOutsImported
from accord.query.models_db import OptOutRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from accord.trust import Trust

HASH_LABEL = "national-data-opt-out"


class OptOuts:
    """The opt-out register (``trust.queries.optouts``).

    Examples:
        >>> trust.queries.optouts.record(nhs_number="943 476 5919", source="NDOP")  # doctest: +SKIP
        >>> trust.queries.optouts.is_opted_out(nhs_number="9434765919")  # doctest: +SKIP
        True
    """

    def __init__(self, trust: Trust) -> None:
        self.trust = trust

    @property
    def hash_key(self) -> bytes:
        return derive_key(self.trust.pseudonym_secret, HASH_LABEL)

    def nhs_hash(self, nhs_number: str) -> str:
        """The keyed hash an NHS number is kept as (spaces and dashes ignored)."""
        digits = re.sub(r"[^0-9]", "", str(nhs_number))
        if len(digits) != 10:
            raise InvalidInput(f"{nhs_number!r} is not a 10-digit NHS number")
        return keyed_pseudonym(self.hash_key, digits, length=64)

    def record(
        self, *, nhs_number: str | None = None, person_key: str | None = None, source: str
    ) -> None:
        """Record one person's opt-out by NHS number and/or person key."""
        if not nhs_number and not person_key:
            raise InvalidInput("An opt-out needs an NHS number or a person key")
        nhs_hash = self.nhs_hash(nhs_number) if nhs_number else None
        with self.trust.unit_of_work() as uow:
            if self._known(uow.session, nhs_hash, person_key):
                return
            uow.session.add(OptOutRow(nhs_hash=nhs_hash, person_key=person_key, source=source))
            uow.emit(
                OptOutRecorded(
                    source=source, by_nhs_number=bool(nhs_hash), by_person_key=bool(person_key)
                )
            )

    def add(
        self,
        session: Session,
        *,
        nhs_number: str | None = None,
        person_keys: Iterable[str] = (),
        source: str,
    ) -> int:
        """Add, in the caller's transaction and without an event of its own, the opt-out of an
        NHS number and of each person key not yet known; returns how many were added.

        For a caller that logs its own event, such as the citizen view, whose one event must not
        say whether anyone was found.

        Examples:
            >>> with trust.unit_of_work() as uow:  # doctest: +SKIP
            ...     trust.queries.optouts.add(uow.session, person_keys=["pk_1"], source="NDOP")
            1
        """
        added = 0
        nhs_hash = self.nhs_hash(nhs_number) if nhs_number else None
        if nhs_hash and not self._known(session, nhs_hash, None):
            session.add(OptOutRow(nhs_hash=nhs_hash, source=source))
            added += 1
        for key in person_keys:
            if not self._known(session, None, key):
                session.add(OptOutRow(person_key=key, source=source))
                added += 1
        return added

    def import_from_dataset(self, ref: str, *, source: str | None = None) -> int:
        """Record every NHS number of a dataset (e.g. ``nhs/national_opt_out``); returns how many
        were new. The numbers are hashed on the trust's side; the clear numbers are not kept."""
        contract = self.trust.catalogue.contract(ref)
        fields = contract.fields_with_role(Role.nhs_number) or (
            [contract.field("nhs_number")] if "nhs_number" in contract.field_names() else []
        )
        if not fields:
            raise InvalidInput(f"{ref} has no field with the nhs_number role to import")
        version = self.trust.catalogue.version(ref)
        column = fields[0].name
        digits = NHS_DIGITS.format(col=ident(column))
        path = self._path(ref, version.number)
        sql = (
            f"SELECT DISTINCT {hmac_sha256_sql(self.hash_key, digits)} AS h "
            f"FROM read_parquet({lit(path)}) WHERE {ident(column)} IS NOT NULL"
        )
        with duckdb.connect(":memory:") as connection:
            hashes = [row[0] for row in connection.execute(sql).fetchall()]
        source = source or ref
        with self.trust.unit_of_work() as uow:
            known = set(
                uow.session.scalars(
                    select(OptOutRow.nhs_hash).where(OptOutRow.nhs_hash.is_not(None))
                )
            )
            new = [h for h in hashes if h not in known]
            uow.session.add_all(OptOutRow(nhs_hash=h, source=source) for h in new)
            uow.emit(
                OptOutsImported(
                    source=source,
                    dataset=ref,
                    version=version.number,
                    added=len(new),
                    already_known=len(hashes) - len(new),
                )
            )
        return len(new)

    def is_opted_out(self, *, nhs_number: str | None = None, person_key: str | None = None) -> bool:
        """Whether this NHS number or person key has opted out."""
        nhs_hash = self.nhs_hash(nhs_number) if nhs_number else None
        with self.trust.store.sessions() as session:
            return self._known(session, nhs_hash, person_key)

    def revision(self) -> tuple[int, int]:
        """(count, highest id): changes whenever the register changes (for caches)."""
        with self.trust.store.sessions() as session:
            count, top = session.execute(select(func.count(), func.max(OptOutRow.id))).one()
            return int(count), int(top or 0)

    def filter(self, nhs_column: str | None, linked: bool) -> OptOutFilter:
        """What lock 2 needs to leave opted-out people out of one dataset."""
        with self.trust.store.sessions() as session:
            hashes = (
                tuple(
                    session.scalars(
                        select(OptOutRow.nhs_hash).where(OptOutRow.nhs_hash.is_not(None))
                    )
                )
                if nhs_column
                else ()
            )
            keys = (
                tuple(
                    session.scalars(
                        select(OptOutRow.person_key).where(OptOutRow.person_key.is_not(None))
                    )
                )
                if linked
                else ()
            )
        return OptOutFilter(
            hash_key=self.hash_key, nhs_hashes=hashes, nhs_column=nhs_column, person_keys=keys
        )

    def _path(self, ref: str, number: int) -> Path:
        return Path(self.trust.ingest.version_path(ref, number))

    @staticmethod
    def _known(session: object, nhs_hash: str | None, person_key: str | None) -> bool:
        conditions = []
        if nhs_hash:
            conditions.append(OptOutRow.nhs_hash == nhs_hash)
        if person_key:
            conditions.append(OptOutRow.person_key == person_key)
        if not conditions:
            return False
        found = session.scalar(select(OptOutRow.id).where(or_(*conditions)).limit(1))  # type: ignore[attr-defined]
        return found is not None
