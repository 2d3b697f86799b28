"""The trust home: creation, permissions, reopening and migrations."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import select

from accord import Trust
from accord.core.store.models import EventRow, MemberRow
from accord.errors import AlreadyExists, NotFound


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_creates_owner_only_keys_and_database(sqlite_trust: Trust) -> None:
    keys = sqlite_trust.settings.keys_dir
    assert _mode(sqlite_trust.home) == 0o700
    assert _mode(keys / "trust.pem") == 0o600
    assert _mode(keys / "pseudonym.secret") == 0o600
    assert len((keys / "pseudonym.secret").read_bytes()) == 32
    assert _mode(sqlite_trust.home / "accord.db") == 0o600


def test_init_refuses_an_existing_home(sqlite_trust: Trust) -> None:
    with pytest.raises(AlreadyExists):
        Trust.init(sqlite_trust.home)


def test_open_without_a_home_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="accord init"):
        Trust.open(tmp_path / "nowhere")


def test_init_records_an_event_signed_by_the_trust_key(trust: Trust) -> None:
    with trust.store.sessions() as session:
        kinds = [e.kind for e in session.scalars(select(EventRow))]
    assert kinds[0] == "trust.initialised"


def test_reopening_an_older_home_upgrades_its_database(trust: Trust) -> None:
    from alembic import command

    config = trust.store.alembic_config()
    with trust.store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert trust.store.current_revisions() == {"0001"}
    reopened = Trust.open(
        trust.home,
        database_url=trust.settings.database_url,
        database_schema=trust.settings.database_schema,
    )
    assert reopened.store.current_revisions() == reopened.store.head_revisions()
    reopened.close()


def test_a_change_without_an_event_is_refused(trust: Trust) -> None:
    from accord.core.store.database import UnloggedChange

    with pytest.raises(UnloggedChange), trust.store.sessions() as session, session.begin():
        session.add(MemberRow(name="sneaky", title="No event", public_key="x"))
    with trust.store.sessions() as session:
        assert session.scalar(select(MemberRow).where(MemberRow.name == "sneaky")) is None


def test_services_act_for_the_user_given_else_the_operator(sqlite_trust: Trust) -> None:
    sqlite_trust.catalogue.add_member("camden", "London Borough of Camden")
    owner, _ = sqlite_trust.catalogue.add_user("owner@camden.gov.uk", "camden", ["data-owner"])
    assert sqlite_trust.acting(owner) is owner
    operator = sqlite_trust.acting(None)
    assert operator is sqlite_trust.operator
    assert operator.email == f"operator:{sqlite_trust.operator_name.removeprefix('operator:')}"
