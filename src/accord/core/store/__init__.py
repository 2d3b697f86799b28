"""The metadata store: SQLAlchemy 2 over SQLite (default) or PostgreSQL, migrated by Alembic."""

from accord.core.store.base import Base
from accord.core.store.database import Store
from accord.core.store.unit_of_work import UnitOfWork

__all__ = ["Base", "Store", "UnitOfWork"]
