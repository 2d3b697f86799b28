"""The metadata database: one engine, migrations on open, and the rule that every change is
written together with its event."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from accord.core.store.base import Base
from accord.core.store.unit_of_work import install_event_writer
from accord.errors import AccordError, InvalidInput

MIGRATIONS = Path(__file__).parent / "migrations"

# Called inside the transaction as each event is emitted, before its row is written (so its
# ``seq`` is still None): (session, event_row).
EventSubscriber = Callable[[Session, Any], None]


class UnloggedChange(AccordError):
    code = "unlogged-change"
    status = 500


class Store:
    """The trust's metadata database.

    Examples:
        >>> store = Store("sqlite:///:memory:")  # doctest: +SKIP
        >>> store.migrate()  # doctest: +SKIP
    """

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        self.engine = _make_engine(url, schema)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.subscribers: list[EventSubscriber] = []
        install_event_writer(self.sessions)
        _guard_unlogged_changes(self.sessions)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return cfg

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a home from an older Accord is upgraded)."""
        cfg = self.alembic_config()
        with self.engine.begin() as connection:
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "heads")

    def current_revisions(self) -> set[str]:
        with self.engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())

    def head_revisions(self) -> set[str]:
        return set(ScriptDirectory.from_config(self.alembic_config()).get_heads())

    def subscribe(self, subscriber: EventSubscriber) -> None:
        """Run ``subscriber`` for every event, inside the transaction that writes it."""
        self.subscribers.append(subscriber)

    def dispose(self) -> None:
        self.engine.dispose()


_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _make_engine(url: str, schema: str | None) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if not url.startswith("postgresql"):
        raise InvalidInput(
            f"Unsupported database URL {url.split(':', 1)[0]!r}: use sqlite:/// or "
            "postgresql+psycopg://"
        )
    connect_args: dict[str, Any] = {}
    if schema:
        if not _SCHEMA_NAME.match(schema):
            raise InvalidInput(f"Invalid database schema name {schema!r}")
        connect_args["options"] = f"-csearch_path={schema}"
        bootstrap = create_engine(url)
        with bootstrap.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        bootstrap.dispose()
    return create_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _guard_unlogged_changes(factory: sessionmaker[Session]) -> None:
    """Refuse to commit a transaction that changed state but wrote no event."""
    from accord.core.store.models import EventRow

    @event.listens_for(factory, "before_flush")
    def _note_changes(session: Session, _ctx: Any, _instances: Any) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, EventRow):
                session.info["events_written"] = True
            elif (
                session.is_modified(obj) or obj in session.new or obj in session.deleted
            ) and not getattr(obj, "__accord_unlogged__", False):
                session.info["state_changed"] = True

    @event.listens_for(factory, "before_commit")
    def _check(session: Session) -> None:
        session.flush()
        changed = session.info.pop("state_changed", False)
        logged = session.info.pop("events_written", False)
        if changed and not logged:
            raise UnloggedChange(
                "A change to the trust's state was about to be saved without an event; "
                "it was refused so that nothing escapes the audit log."
            )

    @event.listens_for(factory, "after_soft_rollback")
    def _reset(session: Session, previous: Any) -> None:
        # Not for a savepoint: changes made before it are still there. Which events survive
        # it the unit of work says at commit (accord.core.store.unit_of_work).
        if previous.parent is None and not previous.nested:
            session.info.pop("state_changed", None)
            session.info.pop("events_written", None)


__all__ = ["Base", "Store", "UnloggedChange"]
