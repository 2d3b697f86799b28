"""The catalogue: members and their users, datasets and their contracts and versions.

Who may do what is decided here, with ``accord.policy.roles``: the methods that change the
catalogue, list users or show quarantined rows take the acting user (``actor``; the trust
operator when not given) and refuse, saying why, anyone the rule does not allow. The actor is
recorded on every event.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.catalogue.contract import MEMBER_PATTERN, Contract, load_contract, parse_contract
from accord.catalogue.models import ROLES, Dataset, Member, User, Version
from accord.core.crypto.keys import SigningKey
from accord.core.crypto.tokens import new_token, token_hash
from accord.core.store.base import utcnow
from accord.core.store.models import DatasetRow, MemberRow, UserRow, VersionRow
from accord.errors import AlreadyExists, InvalidInput, NotAuthenticated, NotFound
from accord.events import (
    ContractChanged,
    DatasetRegistered,
    MemberAdded,
    UserAdded,
    UserDeactivated,
    UserTokenRotated,
)
from accord.policy import roles as rules

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from accord.trust import Trust

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_ref(ref: str) -> tuple[str, str]:
    """Split ``member/dataset`` (or ``member.dataset``)."""
    for sep in ("/", "."):
        if sep in ref:
            member, _, name = ref.partition(sep)
            if member and name:
                return member, name
    raise InvalidInput(
        f"{ref!r} is not a dataset reference: write MEMBER/DATASET, e.g. camden/pupils"
    )


class Catalogue:
    """Members, users and datasets of one trust (``trust.catalogue``).

    Examples:
        >>> owner = trust.catalogue.get_user("owner@camden.gov.uk")  # doctest: +SKIP
        >>> trust.catalogue.register_dataset("pupils.yaml", actor=owner)  # doctest: +SKIP
        >>> trust.catalogue.quarantine("camden/pupils", actor=owner)  # doctest: +SKIP
    """

    def __init__(self, trust: Trust) -> None:
        self.trust = trust

    # -- who may ---------------------------------------------------------------------------

    def may_look_after(self, member: str, *, actor: User) -> bool:
        """Whether ``actor`` may register, upload to and see the quarantine of ``member``'s
        datasets (for a page to offer only what works)."""
        return rules.may_look_after_data(actor, member)

    def uploader(self, ref: str, actor: User | None = None) -> User:
        """The user uploading a version of ``ref``: ``actor``, or the trust operator when none
        is given. Refused unless a data owner of the dataset's member or an admin.

        ``trust.ingest.ingest`` asks this first; an interface may ask it before it reads an
        upload, so nothing is received from someone who would be refused.
        """
        actor = self.trust.acting(actor)
        member, name = parse_ref(ref)
        rules.look_after_data(actor, member, f"upload data to {member}/{name}")
        return actor

    # -- members ---------------------------------------------------------------------------

    def add_member(self, name: str, title: str, *, actor: User | None = None) -> Member:
        """Add a member and generate its signing key pair. For an admin (``actor``; the trust
        operator when not given).

        The private key is written to ``keys/members/NAME.pem`` in the home (owner-only) for the
        member to collect; the trust keeps only the public key in its database.

        Examples:
            >>> trust.catalogue.add_member("camden", "London Borough of Camden")  # doctest: +SKIP
        """
        actor = self.trust.acting(actor)
        rules.manage_people(actor, "add a member")
        if not re.match(MEMBER_PATTERN, name):
            raise InvalidInput(
                f"Member name {name!r} must be lower case letters, digits and hyphens, "
                "starting with a letter (e.g. camden, nhs-england)"
            )
        if not title.strip():
            raise InvalidInput("A member needs a title, e.g. 'London Borough of Camden'")
        key_path = self.member_key_path(name)
        with self.trust.unit_of_work(actor) as uow:
            if uow.session.scalar(select(MemberRow).where(MemberRow.name == name)):
                raise AlreadyExists(f"Member {name!r} already exists")
            key = SigningKey.generate()
            row = MemberRow(name=name, title=title.strip(), public_key=key.public_text())
            uow.session.add(row)
            uow.emit(MemberAdded(member=name, title=row.title, public_key=row.public_key))
            if key_path.exists():
                key_path.unlink()  # a stale key from a member whose creation never committed
            key.save(key_path, key_path.with_suffix(".pub"))
        return _member(row)

    def member_key_path(self, name: str) -> Path:
        return self.trust.settings.keys_dir / "members" / f"{name}.pem"

    def get_member(self, name: str) -> Member:
        with self.trust.store.sessions() as session:
            return _member(_member_row(session, name))

    def list_members(self) -> list[Member]:
        with self.trust.store.sessions() as session:
            rows = session.scalars(select(MemberRow).order_by(MemberRow.name))
            return [_member(r) for r in rows]

    # -- users -----------------------------------------------------------------------------

    def add_user(
        self, email: str, member: str, roles: list[str] | str, *, actor: User | None = None
    ) -> tuple[User, str]:
        """Add a user acting for ``member``; returns the user and its API token (shown once).
        For an admin (``actor``; the trust operator when not given)."""
        actor = self.trust.acting(actor)
        rules.manage_people(actor, "add a user")
        roles = [roles] if isinstance(roles, str) else list(roles)
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise InvalidInput(f"{email!r} is not an e-mail address")
        unknown = [r for r in roles if r not in ROLES]
        if unknown or not roles:
            raise InvalidInput(
                f"Unknown role {', '.join(unknown) or '(none)'}: choose from {', '.join(ROLES)}"
            )
        token = new_token()
        with self.trust.unit_of_work(actor) as uow:
            member_row = _member_row(uow.session, member)
            if uow.session.scalar(select(UserRow).where(UserRow.email == email)):
                raise AlreadyExists(f"User {email} already exists")
            row = UserRow(
                email=email,
                member=member_row,
                roles=sorted(set(roles)),
                token_hash=token_hash(token),
            )
            uow.session.add(row)
            uow.emit(UserAdded(member=member, email=email, roles=row.roles))
        return _user(row), token

    def rotate_token(self, email: str, *, actor: User | None = None) -> str:
        """Issue ``email`` a new API token (the old one stops working). ``actor`` may rotate
        their own; an admin (or the trust operator, when no actor is given) anyone's."""
        actor = self.trust.acting(actor)
        rules.rotate_token(actor, email)
        token = new_token()
        with self.trust.unit_of_work(actor) as uow:
            row = _user_row(uow.session, email)
            row.token_hash = token_hash(token)
            uow.emit(UserTokenRotated(member=row.member.name, email=row.email))
        return token

    def deactivate_user(self, email: str, *, actor: User | None = None) -> None:
        """Deactivate a user: their token stops working. For an admin (``actor``; the trust
        operator when not given)."""
        actor = self.trust.acting(actor)
        rules.manage_people(actor, "deactivate a user")
        with self.trust.unit_of_work(actor) as uow:
            row = _user_row(uow.session, email)
            row.active = False
            uow.emit(UserDeactivated(member=row.member.name, email=row.email))

    def get_user(self, email: str) -> User:
        with self.trust.store.sessions() as session:
            return _user(_user_row(session, email))

    def list_users(self, member: str | None = None, *, actor: User | None = None) -> list[User]:
        """Users of ``member`` (every member's when None). An admin (or the trust operator, when
        no actor is given) sees any member's; anyone else their own member's only."""
        member = rules.users_seen(self.trust.acting(actor), member)
        with self.trust.store.sessions() as session:
            query = select(UserRow).order_by(UserRow.email)
            if member:
                query = query.where(UserRow.member_id == _member_row(session, member).id)
            return [_user(r) for r in session.scalars(query)]

    def authenticate(self, token: str) -> User:
        """The active user holding ``token``; raises NotAuthenticated otherwise."""
        with self.trust.store.sessions() as session:
            row = session.scalar(select(UserRow).where(UserRow.token_hash == token_hash(token)))
            if row is None or not row.active:
                raise NotAuthenticated("The token is not valid (unknown, rotated or deactivated)")
            return _user(row)

    # -- datasets --------------------------------------------------------------------------

    def register_dataset(
        self,
        contract: Contract | Path | str | dict[str, object],
        *,
        replace: bool = False,
        actor: User | None = None,
    ) -> Dataset:
        """Register a dataset from its contract; with ``replace`` update an existing contract.

        ``actor`` (the trust operator when not given) must be a data owner of the contract's
        owner or an admin, and is recorded as who registered or changed it.

        Examples:
            >>> trust.catalogue.register_dataset("contracts/camden/pupils.yaml")  # doctest: +SKIP
        """
        actor = self.trust.acting(actor)
        if isinstance(contract, dict):
            contract = parse_contract(contract)
        elif not isinstance(contract, Contract):
            contract = load_contract(contract)
        action = "change the contract of" if replace else "register"
        rules.look_after_data(actor, contract.owner, f"{action} {contract.ref}")
        digest = contract.sha256()
        with self.trust.unit_of_work(actor) as uow:
            member_row = _member_row(uow.session, contract.owner)
            row = uow.session.scalar(
                select(DatasetRow).where(
                    DatasetRow.member_id == member_row.id, DatasetRow.name == contract.name
                )
            )
            if row is not None and not replace:
                if row.contract_sha256 == digest:
                    return self._dataset(uow.session, row)
                raise AlreadyExists(
                    f"Dataset {contract.ref} is already registered with a different contract; "
                    "use --replace to change its contract"
                )
            if row is None:
                row = DatasetRow(
                    member=member_row,
                    name=contract.name,
                    title=contract.title,
                    contract=contract.to_dict(),
                    contract_sha256=digest,
                )
                uow.session.add(row)
                uow.emit(
                    DatasetRegistered(
                        member=contract.owner,
                        dataset=contract.name,
                        contract_sha256=digest,
                        fields=contract.field_names(),
                    )
                )
            elif row.contract_sha256 != digest:
                previous = row.contract_sha256
                row.contract, row.contract_sha256, row.title = (
                    contract.to_dict(),
                    digest,
                    contract.title,
                )
                uow.emit(
                    ContractChanged(
                        member=contract.owner,
                        dataset=contract.name,
                        contract_sha256=digest,
                        previous_sha256=previous,
                    )
                )
            uow.session.flush()
            return self._dataset(uow.session, row)

    def contract(self, ref: str) -> Contract:
        with self.trust.store.sessions() as session:
            return Contract.model_validate(_dataset_row(session, ref).contract)

    def get_dataset(self, ref: str) -> Dataset:
        with self.trust.store.sessions() as session:
            return self._dataset(session, _dataset_row(session, ref))

    def list_datasets(self, member: str | None = None) -> list[Dataset]:
        with self.trust.store.sessions() as session:
            query = select(DatasetRow).join(MemberRow).order_by(MemberRow.name, DatasetRow.name)
            if member:
                query = query.where(MemberRow.name == member)
            return [self._dataset(session, row) for row in session.scalars(query)]

    def quarantine(
        self, ref: str, version: int | None = None, *, actor: User | None = None
    ) -> pa.Table:
        """The rows of a version (the latest when ``version`` is None) that broke the contract,
        with their reasons and raw values: ``trust.ingest.quarantine``, which decides who may see
        them (a data owner or admin of the dataset's member, or the trust operator).

        Examples:
            >>> owner = trust.catalogue.get_user("owner@camden.gov.uk")  # doctest: +SKIP
            >>> trust.catalogue.quarantine("camden/pupils", actor=owner)  # doctest: +SKIP
        """
        return self.trust.ingest.quarantine(ref, version, actor=actor)

    def versions(self, ref: str) -> list[Version]:
        with self.trust.store.sessions() as session:
            row = _dataset_row(session, ref)
            return [_version(row, v) for v in row.versions]

    def latest_version(self, ref: str) -> Version | None:
        versions = self.versions(ref)
        return versions[-1] if versions else None

    def version(self, ref: str, number: int | None = None) -> Version:
        versions = self.versions(ref)
        if not versions:
            raise NotFound(f"Dataset {ref} has no data yet: ingest a file first")
        if number is None:
            return versions[-1]
        for version in versions:
            if version.number == number:
                return version
        raise NotFound(f"Dataset {ref} has no version {number}")

    def _dataset(self, session: Session, row: DatasetRow) -> Dataset:
        versions = row.versions
        latest = _version(row, versions[-1]) if versions else None
        sla = row.contract.get("freshness_sla_days")
        fresh = None
        if sla and latest is not None:
            fresh = utcnow() - latest.created_at <= timedelta(days=sla)
        elif sla:
            fresh = False
        return Dataset(
            member=row.member.name,
            name=row.name,
            title=row.title,
            contract_sha256=row.contract_sha256,
            created_at=row.created_at,
            latest=latest,
            version_count=len(versions),
            freshness_sla_days=sla,
            fresh=fresh,
        )


def _member_row(session: Session, name: str) -> MemberRow:
    row = session.scalar(select(MemberRow).where(MemberRow.name == name))
    if row is None:
        raise NotFound(f"No member called {name!r}; add it with: accord member add {name}")
    return row


def _user_row(session: Session, email: str) -> UserRow:
    row = session.scalar(select(UserRow).where(UserRow.email == email.strip().lower()))
    if row is None:
        raise NotFound(f"No user {email}")
    return row


def _dataset_row(session: Session, ref: str) -> DatasetRow:
    member, name = parse_ref(ref)
    row = session.scalar(
        select(DatasetRow).join(MemberRow).where(MemberRow.name == member, DatasetRow.name == name)
    )
    if row is None:
        raise NotFound(f"No dataset {member}/{name}; register it with: accord dataset register")
    return row


def dataset_row(session: Session, ref: str) -> DatasetRow:
    """The stored row of a dataset, for services that add versions (ingest)."""
    return _dataset_row(session, ref)


def _member(row: MemberRow) -> Member:
    return Member(
        name=row.name, title=row.title, public_key=row.public_key, created_at=row.created_at
    )


def _user(row: UserRow) -> User:
    return User(
        email=row.email,
        member=row.member.name,
        roles=list(row.roles),
        active=row.active,
        created_at=row.created_at,
    )


def _version(dataset: DatasetRow, row: VersionRow) -> Version:
    return Version(
        member=dataset.member.name,
        dataset=dataset.name,
        number=row.number,
        mode=row.mode,
        path=row.path,
        source_name=row.source_name,
        rows_read=row.rows_read,
        rows_accepted=row.rows_accepted,
        rows_quarantined=row.rows_quarantined,
        row_count=row.row_count,
        sha256=row.sha256,
        created_at=row.created_at,
    )
