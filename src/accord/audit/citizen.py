"""The citizen's view (``trust.citizen``): who used my data, when, why, and which of it.

A person is found by the identifiers they give (NHS number and date of birth, or name, date of
birth and postcode, or all of them):

1. **exact NHS number**: every dataset with a field of role ``nhs_number`` is searched for the
   number; where the dataset also holds a date of birth, it must agree (a record under a
   mistyped NHS number must never be shown to someone else);
2. **linkage**: those records' person keys in every linked agreement's keys file, plus the keys
   ``trust.linkage.person_keys_for`` finds by matching the identifiers against each agreement's
   people; every record of those keys is theirs.

Their records are then looked up in the release index the query service keeps over every
release's contributors (:mod:`accord.query.release_index`, the same index that answers by person
key), so a report over 10^8 release-person rows takes milliseconds.

The lookup must not be an oracle for whether someone is known to a service: every lookup is
logged *before* anything is looked up, as keyed hashes only and without saying whether anyone
was found; lookups are limited per client and per identifier; and the answer for someone the
trust does not know is the answer for someone whose records were never used.

Examples:
    >>> ids = Identifiers(nhs_number="943 476 5919", date_of_birth="1970-01-31")  # doctest: +SKIP
    >>> report = trust.citizen.report(ids, client="cli:ig-lead")  # doctest: +SKIP
    >>> [(u.organisation, u.purpose) for u in report.uses]  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import nhs_number as nhs
import pyarrow as pa
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import select

from accord.audit.citizen_events import (
    CitizenCodeIssued,
    CitizenLookup,
    CitizenLookupRefused,
    CitizenOptedOut,
    CitizenSignedIn,
    CitizenSignInFailed,
)
from accord.catalogue.contract import Role
from accord.core.crypto.pseudonyms import derive_key, keyed_pseudonym
from accord.core.engine.prepare import record_key_sql
from accord.core.engine.sql import ident, lit
from accord.core.store.base import utcnow
from accord.core.store.models import EventRow
from accord.errors import AccordError, InvalidInput, NotAuthenticated, NotFound
from accord.query.models_db import OptOutRow, ReleaseRow
from accord.query.release_index import fetch_with

if TYPE_CHECKING:
    from accord.trust import Trust

LOOKUPS_PER_WINDOW = 5  # per client and per identifier
SIGN_IN_FAILURES_PER_WINDOW = 5
WINDOW = timedelta(minutes=1)
CODE_LIFETIME = timedelta(minutes=15)
# A code must last long enough to be typed in, and not so long that a lost one stays useful
# (sign-in looks back over eight default lifetimes, which covers the longest).
CODE_LIFETIME_RANGE = (timedelta(minutes=1), timedelta(minutes=60))
SESSION_LIFETIME = timedelta(minutes=30)
TOKEN_PREFIX = "cit_"
NO_USES = "No organisation has received records about you through this trust."
NO_HOLDINGS = "No dataset in this trust holds records that match the details you gave."
KIND_WORDS = {True: "planning or research", False: "individual care or support"}
OUTPUT_WORDS = {
    "record-level": "a list with a line about each person",
    "aggregate": "a table of counts (no one named)",
}


class TooManyLookups(AccordError):
    """The rate limit of the citizen view was reached; nothing was looked up."""

    code = "too-many-lookups"
    status = 429


# -- what a citizen gives ---------------------------------------------------------------------


class Identifiers(BaseModel):
    """A person's own identifiers; one of the sets (NHS number and date of birth; or given name,
    family name, date of birth and postcode) must be complete.

    Examples:
        >>> Identifiers(nhs_number="943 476 5919", date_of_birth="31/01/1970").nhs_number
        '9434765919'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    nhs_number: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    date_of_birth: date
    postcode: str | None = None

    @field_validator("nhs_number", "given_name", "family_name", "postcode", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if value is None:
            return None
        digits = re.sub(r"[\s-]", "", value)
        if not (digits.isdigit() and len(digits) == 10 and nhs.is_valid(digits)):
            raise ValueError("is not a valid NHS number (10 digits with a correct check digit)")
        return digits

    @field_validator("postcode")
    @classmethod
    def _postcode(cls, value: str | None) -> str | None:
        if value is None:
            return None
        compact = re.sub(r"\s+", "", value).upper()
        if not re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}", compact):
            raise ValueError("is not a UK postcode (e.g. NW1 2DB)")
        return f"{compact[:-3]} {compact[-3:]}"

    @field_validator("date_of_birth", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
                try:
                    return datetime.strptime(text, pattern).date()
                except ValueError:
                    continue
            raise ValueError("is not a date: write it as 1970-01-31 or 31/01/1970")
        return value

    @model_validator(mode="after")
    def _complete(self) -> Identifiers:
        if self.nhs_number is None and not self.has_name_set:
            raise ValueError(
                "give your NHS number and date of birth, or your given name, family name, date "
                "of birth and postcode"
            )
        return self

    @property
    def has_name_set(self) -> bool:
        return bool(self.given_name and self.family_name and self.postcode)

    def roles(self) -> dict[str, str]:
        """Role -> value, for linkage (only what was given)."""
        values = {
            Role.nhs_number.value: self.nhs_number,
            Role.given_name.value: self.given_name,
            Role.family_name.value: self.family_name,
            Role.date_of_birth.value: self.date_of_birth.isoformat(),
            Role.postcode.value: self.postcode,
        }
        return {role: value for role, value in values.items() if value}

    def canonical(self) -> str:
        """One string for the whole set (names case-folded), for the identity hash."""
        parts = [f"{role}={value.casefold()}" for role, value in sorted(self.roles().items())]
        return "\x1f".join(parts)

    @classmethod
    def parse(cls, **values: Any) -> Identifiers:
        """Like the constructor, but raises InvalidInput with a message a person can act on."""
        from pydantic import ValidationError

        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            details = []
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]).replace("_", " ")
                message = error["msg"].removeprefix("Value error, ")
                details.append(f"{where}: {message}" if where else message)
            raise InvalidInput("These details cannot be used to find you", details=details) from exc


# -- what a citizen gets -----------------------------------------------------------------------


class ReleaseUse(BaseModel):
    """One release that used records about the person."""

    release_id: str
    made_at: datetime
    organisation: str  # who received it, by name
    organisation_id: str
    agreement_id: str
    agreement_title: str
    purpose_code: str
    purpose: str  # in plain words
    purpose_kind: str  # individual care or support / planning or research
    opt_out_applies: bool
    output: str  # in plain words
    datasets: list[str]  # "member/dataset" of their records that were used
    fields: list[str]  # "member/dataset.field" read from those datasets


class Holding(BaseModel):
    """One dataset that holds records about the person."""

    dataset: str
    title: str
    organisation: str
    organisation_id: str
    records: int


class CitizenReport(BaseModel):
    """Who used the person's records and who holds them. Nothing in it says whether the trust
    knew the person: someone unknown gets the same answer as someone whose records were never
    used."""

    made_at: datetime
    uses: list[ReleaseUse] = Field(default_factory=list)
    holdings: list[Holding] = Field(default_factory=list)
    opted_out: bool = False
    uses_summary: str
    holdings_summary: str
    about: str = (
        "Every time an organisation received an answer made from records about you, the trust "
        "kept a record of it. This report lists those answers, and the datasets in the trust "
        "that hold records about you. Looking at this report is itself recorded in the trust's "
        "audit log, without your details."
    )


# -- the service --------------------------------------------------------------------------------


class CitizenView:
    """The citizen view of one trust (``trust.citizen``).

    Examples:
        >>> ids = Identifiers(nhs_number="9434765919", date_of_birth="1970-01-31")  # doctest: +SKIP
        >>> code = trust.citizen.issue_code(ids)  # doctest: +SKIP
        >>> token = trust.citizen.sign_in(ids, code, client="web:203.0.113.9")  # doctest: +SKIP
        >>> trust.citizen.report(trust.citizen.identifiers(token), client="web:203.0.113.9")
        ... # doctest: +SKIP
    """

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self.lookups_per_window = LOOKUPS_PER_WINDOW
        self.window = WINDOW
        self._connection: duckdb.DuckDBPyConnection | None = None

    def _duckdb(self) -> duckdb.DuckDBPyConnection:
        """A cursor on one in-memory DuckDB kept by the view (opening one costs ~40 ms)."""
        if self._connection is None:
            self._connection = duckdb.connect(":memory:", config={"threads": 2})
        return self._connection.cursor()

    # -- keyed hashes ----------------------------------------------------------------------

    @property
    def _hash_key(self) -> bytes:
        return derive_key(self.trust.pseudonym_secret, "citizen-view")

    def _hash(self, *parts: str) -> str:
        return keyed_pseudonym(self._hash_key, *parts)

    def subjects(self, ids: Identifiers) -> list[str]:
        """Keyed hashes of each identifier set given: what the per-identifier limit counts."""
        out = []
        if ids.nhs_number:
            out.append(self._hash("nhs", ids.nhs_number))
        if ids.has_name_set:
            assert ids.given_name and ids.family_name and ids.postcode
            out.append(
                self._hash(
                    "name",
                    ids.given_name.casefold(),
                    ids.family_name.casefold(),
                    ids.date_of_birth.isoformat(),
                    ids.postcode,
                )
            )
        return out

    def identity(self, ids: Identifiers) -> str:
        return self._hash("identity", ids.canonical())

    def client_hash(self, client: str) -> str:
        return self._hash("client", client)

    # -- signing in (a stand-in for NHS login) ---------------------------------------------

    def issue_code(self, ids: Identifiers, *, lifetime: timedelta = CODE_LIFETIME) -> str:
        """A six-digit one-time code bound to exactly these identifiers, valid for ``lifetime``.

        It stands in for an identity service such as NHS login: whoever hands it out has checked
        that the person is who these identifiers say. It is issued whether or not the trust knows
        the person (issuing one must not tell anyone that). ``lifetime`` must be between 1 and 60
        minutes (InvalidInput otherwise).

        Examples:
            >>> trust.citizen.issue_code(ids, lifetime=timedelta(minutes=5))  # doctest: +SKIP
            '042917'
        """
        shortest, longest = CODE_LIFETIME_RANGE
        if not shortest <= lifetime <= longest:
            raise InvalidInput(
                f"A sign-in code must work for between {_minutes(shortest)} and "
                f"{_minutes(longest)} minutes, not {lifetime.total_seconds() / 60:g}"
            )
        code = f"{secrets.randbelow(10**6):06d}"
        identity = self.identity(ids)
        with self.trust.unit_of_work() as uow:
            uow.emit(
                CitizenCodeIssued(
                    identity=identity,
                    code=self._hash("code", identity, code),
                    expires_at=utcnow() + lifetime,
                )
            )
        return code

    def sign_in(self, ids: Identifiers, code: str, *, client: str, channel: str = "web") -> str:
        """Exchange a one-time code for a session token (valid for 30 minutes) that carries the
        identifiers, encrypted; raise NotAuthenticated if the code is wrong, used or expired."""
        identity = self.identity(ids)
        client_hash = self.client_hash(client)
        code_hash = self._hash("code", identity, re.sub(r"\s", "", code or ""))
        now = utcnow()
        self._check_sign_in_limit(identity, client_hash, now, channel)
        try:
            with self.trust.unit_of_work() as uow:
                uow.emit(
                    CitizenSignedIn(
                        identity=identity, code=code_hash, client=client_hash, channel=channel
                    )
                )
                issued = self._payloads(
                    uow.session, CitizenCodeIssued.kind, now - CODE_LIFETIME * 8
                )
                valid = any(
                    p["code"] == code_hash and datetime.fromisoformat(p["expires_at"]) > now
                    for p in issued
                )
                uses = sum(
                    p["code"] == code_hash
                    for p in self._payloads(
                        uow.session, CitizenSignedIn.kind, now - CODE_LIFETIME * 8
                    )
                )
                if not valid or uses > 1:
                    raise NotAuthenticated(
                        "That code does not work for these details: it may be mistyped, used "
                        "already or past the time it was issued for. Check your details or ask "
                        "for a new code"
                    )
        except NotAuthenticated:
            with self.trust.unit_of_work() as uow:
                uow.emit(
                    CitizenSignInFailed(identity=identity, client=client_hash, channel=channel)
                )
            raise
        return self._token(ids)

    def identifiers(self, token: str) -> Identifiers:
        """The identifiers a session token was issued for; NotAuthenticated if it is not valid."""
        raw = token.removeprefix(TOKEN_PREFIX) if token else ""
        try:
            data = self._fernet().decrypt(raw.encode(), ttl=int(SESSION_LIFETIME.total_seconds()))
        except (InvalidToken, ValueError) as exc:
            raise NotAuthenticated(
                "Your sign-in has expired or is not valid: sign in again with a new code"
            ) from exc
        return Identifiers.model_validate_json(data)

    def _token(self, ids: Identifiers) -> str:
        return TOKEN_PREFIX + self._fernet().encrypt(ids.model_dump_json().encode()).decode()

    def _fernet(self) -> Fernet:
        key = derive_key(self.trust.pseudonym_secret, "citizen-session")
        return Fernet(base64.urlsafe_b64encode(key))

    def _check_sign_in_limit(
        self, identity: str, client_hash: str, now: datetime, channel: str
    ) -> None:
        with self.trust.store.sessions() as session:
            failed = self._payloads(session, CitizenSignInFailed.kind, now - self.window)
        if (
            sum(p["client"] == client_hash for p in failed) >= SIGN_IN_FAILURES_PER_WINDOW
            or sum(p["identity"] == identity for p in failed) >= SIGN_IN_FAILURES_PER_WINDOW
        ):
            raise TooManyLookups(
                "Too many sign-in attempts in the last minute: wait a minute and try again"
            )

    # -- the report ------------------------------------------------------------------------

    def report(self, ids: Identifiers, *, client: str, channel: str = "cli") -> CitizenReport:
        """Every release that used records about this person, and every dataset holding them.

        The lookup is logged first (keyed hashes only) and refused with TooManyLookups when the
        client or the identifiers were looked up more than five times in the last minute.
        """
        self._log_lookup(ids, client, channel)
        records, keys = self._person(ids)
        uses = self._uses(records)
        holdings = self._holdings(records)
        return CitizenReport(
            made_at=utcnow(),
            uses=uses,
            holdings=holdings,
            opted_out=self._opted_out(ids, keys),
            uses_summary=_uses_summary(uses),
            holdings_summary=_holdings_summary(holdings),
        )

    def _log_lookup(self, ids: Identifiers, client: str, channel: str) -> None:
        subjects = self.subjects(ids)
        client_hash = self.client_hash(client)
        now = utcnow()
        try:
            with self.trust.unit_of_work() as uow:
                # Emitting first takes the log's append lock, so concurrent lookups are counted
                # one after another and cannot all slip under the limit together.
                uow.emit(CitizenLookup(subjects=subjects, client=client_hash, channel=channel))
                recent = self._payloads(uow.session, CitizenLookup.kind, now - self.window)
                by_client = sum(p["client"] == client_hash for p in recent)
                by_subject = max(
                    (sum(s in p["subjects"] for p in recent) for s in subjects), default=0
                )
                if max(by_client, by_subject) > self.lookups_per_window:
                    raise TooManyLookups(
                        f"No more than {self.lookups_per_window} lookups a minute, for one "
                        "person or from one place: wait a minute and try again"
                    )
        except TooManyLookups as refusal:
            with self.trust.unit_of_work() as uow:
                uow.emit(
                    CitizenLookupRefused(
                        subjects=subjects, client=client_hash, channel=channel, reason="rate-limit"
                    )
                )
            raise refusal

    @staticmethod
    def _payloads(session: Any, kind: str, since: datetime) -> list[dict[str, Any]]:
        rows = session.scalars(
            select(EventRow.payload).where(EventRow.kind == kind, EventRow.occurred_at >= since)
        )
        return [json.loads(p) for p in rows]

    # -- finding the person's records ------------------------------------------------------

    def records(self, ids: Identifiers) -> set[tuple[str, str]]:
        """(dataset, record_key) of every record the trust can tie to these identifiers.

        Not logged and not limited: for the trust's own use (tests, the demo); citizens go
        through :meth:`report`.
        """
        return self._person(ids)[0]

    def _person(self, ids: Identifiers) -> tuple[set[tuple[str, str]], set[str]]:
        """The person's records (dataset, record_key) and person keys.

        Their records: those holding the NHS number, and every record of the keys those records
        carry or linkage finds for the identifiers. Their keys: every key, in any agreement, of
        those records (so an opt-out reaches each record wherever it is linked). One step only:
        the records of keys found in that second look are not searched again.
        """
        records = self._nhs_records(ids) if ids.nhs_number else set()
        key_files = self._key_files()
        if not key_files:
            return records, set()
        with self._duckdb() as connection:
            keys = _keys_of_records(connection, key_files, records) | self._linked_keys(ids)
            records |= _records_of_keys(connection, key_files, keys)
            return records, _keys_of_records(connection, key_files, records)

    def _linked_keys(self, ids: Identifiers) -> set[str]:
        try:
            return set(self.trust.linkage.person_keys_for(ids.roles()))
        except ModuleNotFoundError:  # pragma: no cover - linkage not in this build
            return set()

    def _key_files(self) -> list[Path]:
        folder = self.trust.settings.data_dir / "linkage"
        return sorted(folder.glob("*/keys.parquet")) if folder.is_dir() else []

    def _nhs_records(self, ids: Identifiers) -> set[tuple[str, str]]:
        """Records holding this NHS number exactly (and, where held, this date of birth)."""
        found: set[tuple[str, str]] = set()
        with self._duckdb() as connection:
            for dataset in self.trust.catalogue.list_datasets():
                if dataset.latest is None:
                    continue
                contract = self.trust.catalogue.contract(dataset.ref)
                nhs_fields = contract.fields_with_role(Role.nhs_number)
                if not nhs_fields:
                    continue
                path = self.trust.ingest.version_path(dataset.ref)
                dob_fields = contract.fields_with_role(Role.date_of_birth)
                # The ways an NHS number is written (943 476 5919, 943-476-5919): comparing with
                # each is far cheaper than normalising every row of a large dataset.
                column = f"CAST({ident(nhs_fields[0].name)} AS VARCHAR)"
                conditions = [f"{column} IN ($nhs, $spaced, $dashed)"]
                if dob_fields:
                    dob = ident(dob_fields[0].name)
                    conditions.append(f"({dob} IS NULL OR TRY_CAST({dob} AS DATE) = $dob)")
                sql = (
                    f"SELECT {record_key_sql(contract.primary_key)} AS k FROM read_parquet("
                    f"{lit(str(path))}, file_row_number=true) WHERE " + " AND ".join(conditions)
                )
                n = ids.nhs_number or ""
                params: dict[str, Any] = {
                    "nhs": n,
                    "spaced": f"{n[:3]} {n[3:6]} {n[6:]}",
                    "dashed": f"{n[:3]}-{n[3:6]}-{n[6:]}",
                }
                if dob_fields:
                    params["dob"] = ids.date_of_birth
                rows = connection.execute(sql, params).fetchall()
                found.update((dataset.ref, row[0]) for row in rows)
        return found

    # -- uses and holdings -----------------------------------------------------------------

    def _uses(self, records: set[tuple[str, str]]) -> list[ReleaseUse]:
        if not records:
            return []
        touched = self.releases_touching(records)
        if not touched:
            return []
        with self.trust.store.sessions() as session:
            rows = list(session.scalars(select(ReleaseRow).where(ReleaseRow.id.in_(touched))))
        members = {m.name: m.title for m in self.trust.catalogue.list_members()}
        agreements: dict[tuple[str, int], Any] = {}
        uses = []
        for row in rows:
            datasets = sorted(touched[row.id])
            which = (row.agreement, row.agreement_version)
            if which not in agreements:
                agreements[which] = self._agreement(*which)
            agreement = agreements[which]
            applies = _opt_out_applies(agreement, row.purpose)
            uses.append(
                ReleaseUse(
                    release_id=row.id,
                    made_at=row.made_at,
                    organisation=members.get(row.member, row.member),
                    organisation_id=row.member,
                    agreement_id=row.agreement,
                    agreement_title=agreement.title if agreement else row.agreement,
                    purpose_code=row.purpose,
                    purpose=_purpose_words(agreement, row.purpose),
                    purpose_kind=KIND_WORDS[applies],
                    opt_out_applies=applies,
                    output=OUTPUT_WORDS.get(row.output, row.output),
                    datasets=datasets,
                    fields=sorted(c for c in row.columns if c.split(".", 1)[0] in touched[row.id]),
                )
            )
        return sorted(uses, key=lambda u: (u.made_at, u.release_id), reverse=True)

    def _agreement(self, agreement_id: str, version: int) -> Any:
        try:
            return self.trust.agreements.get(agreement_id, version)
        except NotFound:  # a grant made without a stored agreement (tests, older releases)
            return None

    def _holdings(self, records: set[tuple[str, str]]) -> list[Holding]:
        counts = Counter(dataset for dataset, _ in records)
        members = {m.name: m.title for m in self.trust.catalogue.list_members()}
        holdings = []
        for ref, count in sorted(counts.items()):
            dataset = self.trust.catalogue.get_dataset(ref)
            holdings.append(
                Holding(
                    dataset=ref,
                    title=dataset.title,
                    organisation=members.get(dataset.member, dataset.member),
                    organisation_id=dataset.member,
                    records=count,
                )
            )
        return holdings

    def _opted_out(self, ids: Identifiers, keys: set[str]) -> bool:
        optouts = self.trust.queries.optouts
        if ids.nhs_number and optouts.is_opted_out(nhs_number=ids.nhs_number):
            return True
        with self.trust.store.sessions() as session:
            return (
                bool(keys)
                and session.scalar(
                    select(OptOutRow.id).where(OptOutRow.person_key.in_(sorted(keys))).limit(1)
                )
                is not None
            )

    # -- the release index -----------------------------------------------------------------

    @property
    def index_dir(self) -> Path:
        """Where the release index is kept (the query service's; one index for both)."""
        return self.trust.queries.index.folder

    def refresh_index(self) -> int:
        """Index every release not yet indexed (listing pending contributors first); returns how
        many were added. Reports do this themselves; call it after many releases to keep the
        next report fast."""
        return self.trust.queries.refresh_index()

    def releases_touching(self, records: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
        """Release id -> the datasets of ``records`` (dataset, record_key) it used. Exact."""
        return self.trust.queries.releases_of_records(records)

    # -- opting out ------------------------------------------------------------------------

    def opt_out(
        self, ids: Identifiers, *, source: str = "citizen view", channel: str = "cli"
    ) -> None:
        """Record a national data opt-out: by NHS number (kept as a keyed hash, so it also
        covers records that arrive later) and by every person key found for these identifiers.
        Agreements where the opt-out applies (planning and research) leave the person out of
        every later answer; individual care and support are not affected."""
        _, keys = self._person(ids)
        with self.trust.unit_of_work() as uow:
            self.trust.queries.optouts.add(
                uow.session, nhs_number=ids.nhs_number, person_keys=sorted(keys), source=source
            )
            # One event whatever was found, so the log does not say whether anyone was.
            uow.emit(CitizenOptedOut(subjects=self.subjects(ids), source=source, channel=channel))


# -- helpers ------------------------------------------------------------------------------------


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _uses_summary(uses: list[ReleaseUse]) -> str:
    if not uses:
        return NO_USES
    organisations = len({u.organisation_id for u in uses})
    return (
        f"{len(uses)} {'answer' if len(uses) == 1 else 'answers'} made from records about you "
        f"went to {organisations} {'organisation' if organisations == 1 else 'organisations'}."
    )


def _holdings_summary(holdings: list[Holding]) -> str:
    if not holdings:
        return NO_HOLDINGS
    held = len(holdings)
    return f"{held} {'dataset holds' if held == 1 else 'datasets hold'} records about you."


def _opt_out_applies(agreement: Any, code: str) -> bool:
    from accord.agreements.cedar import opt_out_applies
    from accord.agreements.purposes import get_purpose

    if agreement is not None:
        return opt_out_applies(agreement)
    registered = get_purpose(code)
    return bool(registered and registered.opt_out_applies)


def _purpose_words(agreement: Any, code: str) -> str:
    from accord.agreements.purposes import get_purpose

    if agreement is not None and agreement.purpose and agreement.purpose.description:
        return " ".join(agreement.purpose.description.split())
    registered = get_purpose(code)
    return registered.description if registered else code


def _keys_of_records(
    connection: duckdb.DuckDBPyConnection, key_files: list[Path], records: set[tuple[str, str]]
) -> set[str]:
    if not key_files or not records:
        return set()
    wanted = pa.table({"dataset": [d for d, _ in records], "record_key": [k for _, k in records]})
    rows = fetch_with(
        connection,
        wanted,
        f"SELECT DISTINCT k.person_key FROM read_parquet({_files(key_files)}) k "
        "JOIN {table} USING (dataset, record_key) WHERE k.person_key IS NOT NULL",
    )
    return {row[0] for row in rows}


def _records_of_keys(
    connection: duckdb.DuckDBPyConnection, key_files: list[Path], keys: set[str]
) -> set[tuple[str, str]]:
    if not key_files or not keys:
        return set()
    rows = fetch_with(
        connection,
        pa.table({"person_key": sorted(keys)}),
        f"SELECT DISTINCT k.dataset, k.record_key FROM read_parquet({_files(key_files)}) k "
        "JOIN {table} USING (person_key)",
    )
    return {(d, k) for d, k in rows}


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(lit(str(p)) for p in paths) + "]"


__all__ = [
    "CitizenReport",
    "CitizenView",
    "Holding",
    "Identifiers",
    "ReleaseUse",
    "TooManyLookups",
]
