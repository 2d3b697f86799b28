"""Alembic environment: runs on the connection the Store hands over."""

from __future__ import annotations

from alembic import context

from accord.core.store.base import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - Accord always passes its own connection
    raise RuntimeError("Accord migrations run through Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
