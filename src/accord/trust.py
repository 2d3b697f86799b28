"""The facade a user meets: ``Trust.open(home)`` and a sub-object per concern.

Examples:
    >>> from accord import Trust
    >>> trust = Trust.init("accord-home")  # doctest: +SKIP
    >>> trust.catalogue.add_member("camden", "London Borough of Camden")  # doctest: +SKIP
    >>> trust.ingest.ingest("camden/pupils", "pupils.csv")  # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import importlib
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accord.core.config import Settings
from accord.core.crypto.files import write_private
from accord.core.crypto.keys import SigningKey, load_private_key
from accord.core.store import Store, UnitOfWork
from accord.errors import AlreadyExists, NotFound
from accord.events import TrustInitialised

if TYPE_CHECKING:
    from accord.agreements.service import Agreements
    from accord.audit.citizen import CitizenView
    from accord.audit.service import Audit
    from accord.catalogue.models import User
    from accord.catalogue.service import Catalogue
    from accord.ingest.service import Ingest
    from accord.linkage.service import Linkage
    from accord.policy.roles import Operator
    from accord.query.service import Queries

# Hooks ("module:function") run with the trust each time one opens, e.g. the audit log
# subscribing to events. A capability adds itself here instead of being called ad hoc.
ON_OPEN: list[str] = ["accord.audit.chain:install"]


class Trust:
    """One Accord installation: its home folder, metadata store, keys and services."""

    def __init__(self, settings: Settings, store: Store, actor: str) -> None:
        self.settings = settings
        self.store = store
        self.actor = actor
        # Who opened the trust (kept by ``acting_as``): the operator of this trust's home.
        self.operator_name = actor

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        home: Path | str | None = None,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        actor: str | None = None,
    ) -> Trust:
        """Create a new trust home: database, signing key and pseudonymisation secret."""
        settings = Settings.for_home(home, database_url, database_schema)
        if (settings.keys_dir / "trust.pem").exists():
            raise AlreadyExists(f"A trust already lives in {settings.home}")
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(settings.home, 0o700)
        settings.keys_dir.mkdir(exist_ok=True, mode=0o700)
        settings.data_dir.mkdir(exist_ok=True, mode=0o700)
        if settings.is_sqlite:
            # Create the database file owner-only; SQLite gives its -wal/-shm files the same mode.
            database = settings.home / "accord.db"
            database.touch(mode=0o600, exist_ok=True)
            os.chmod(database, 0o600)
        key = SigningKey.generate()
        key.save(settings.keys_dir / "trust.pem", settings.keys_dir / "trust.pub")
        write_private(settings.keys_dir / "pseudonym.secret", secrets.token_bytes(32))
        trust = cls._connect(settings, actor)
        with trust.unit_of_work() as uow:
            uow.emit(TrustInitialised(public_key=key.public_text()))
        return trust

    @classmethod
    def open(
        cls,
        home: Path | str | None = None,
        *,
        database_url: str | None = None,
        database_schema: str | None = None,
        actor: str | None = None,
    ) -> Trust:
        """Open an existing trust home, upgrading its database if an older Accord made it."""
        settings = Settings.for_home(home, database_url, database_schema)
        if not (settings.keys_dir / "trust.pem").exists():
            raise NotFound(
                f"No trust in {settings.home}: create one with `accord init --home {settings.home}`"
            )
        return cls._connect(settings, actor)

    @classmethod
    def _connect(cls, settings: Settings, actor: str | None) -> Trust:
        store = Store(settings.database_url, settings.database_schema)
        store.migrate()
        trust = cls(settings, store, actor or default_actor())
        for hook in ON_OPEN:
            module_name, _, function = hook.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name is None or not module_name.startswith(exc.name):
                    raise
                continue  # the capability is not installed in this build
            getattr(module, function)(trust)
        return trust

    def acting_as(self, actor: str) -> Trust:
        """The same trust, recording ``actor`` on every event."""
        other = Trust(self.settings, self.store, actor)
        other.operator_name = self.operator_name
        return other

    def close(self) -> None:
        self.store.dispose()

    def __enter__(self) -> Trust:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- core helpers ----------------------------------------------------------------------

    def unit_of_work(self, actor: User | None = None) -> UnitOfWork:
        """A transaction whose events record ``actor`` (a user or the operator) as who acted,
        or this trust's actor when none is given."""
        return UnitOfWork(self.store, actor.email if actor is not None else self.actor)

    @cached_property
    def operator(self) -> Operator:
        """The trust operator: whoever holds this home and opened it, acting with every right an
        admin has, recorded by name (see ``accord.policy.roles.Operator``). Services act as the
        operator when no user is given."""
        from accord.policy.roles import Operator

        return Operator.named(self.operator_name)

    def acting(self, actor: User | None) -> User:
        """The user a service acts for: ``actor`` when given, else the trust operator (the CLI
        without ``--as``, scripts and the demo; the API and web always pass a user).

        Examples:
            >>> trust.acting(None) is trust.operator  # doctest: +SKIP
            True
        """
        return actor if actor is not None else self.operator

    @property
    def home(self) -> Path:
        return self.settings.home

    @cached_property
    def signing_key(self) -> SigningKey:
        return load_private_key(self.settings.keys_dir / "trust.pem")

    @cached_property
    def pseudonym_secret(self) -> bytes:
        return (self.settings.keys_dir / "pseudonym.secret").read_bytes()

    # -- services (the STYLE facade) -------------------------------------------------------

    @cached_property
    def catalogue(self) -> Catalogue:
        from accord.catalogue.service import Catalogue

        return Catalogue(self)

    @cached_property
    def ingest(self) -> Ingest:
        from accord.ingest.service import Ingest

        return Ingest(self)

    @cached_property
    def agreements(self) -> Agreements:
        from accord.agreements.service import Agreements

        return Agreements(self)

    @cached_property
    def linkage(self) -> Linkage:
        from accord.linkage.service import Linkage

        return Linkage(self)

    @cached_property
    def queries(self) -> Queries:
        from accord.query.service import Queries

        return Queries(self)

    @cached_property
    def audit(self) -> Audit:
        from accord.audit.service import Audit

        return Audit(self)

    @cached_property
    def citizen(self) -> CitizenView:
        from accord.audit.citizen import CitizenView

        return CitizenView(self)


def default_actor() -> str:
    return os.environ.get("ACCORD_ACTOR") or f"operator:{getpass.getuser()}"
