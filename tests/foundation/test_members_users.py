"""Members, users and tokens."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from accord import Trust
from accord.core.crypto.keys import load_private_key, verify_signature
from accord.core.store.models import EventRow, UserRow
from accord.errors import AlreadyExists, InvalidInput, NotAuthenticated, NotFound


def test_member_gets_a_key_pair_whose_private_half_matches(trust: Trust) -> None:
    member = trust.catalogue.add_member("camden", "London Borough of Camden")
    key = load_private_key(trust.catalogue.member_key_path("camden"))
    assert key.public_text() == member.public_key
    assert verify_signature(member.public_key, key.sign(b"agreement"), b"agreement")


def test_member_names_are_checked_and_unique(trust: Trust) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    with pytest.raises(AlreadyExists):
        trust.catalogue.add_member("camden", "Again")
    with pytest.raises(InvalidInput, match="lower case"):
        trust.catalogue.add_member("Camden Council", "x")
    assert [m.name for m in trust.catalogue.list_members()] == ["camden"]


def test_user_token_is_shown_once_and_only_its_hash_stored(trust: Trust) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    user, token = trust.catalogue.add_user("Ana@Camden.gov.uk", "camden", ["analyst"])
    assert user.email == "ana@camden.gov.uk"
    assert trust.catalogue.authenticate(token).email == user.email
    with trust.store.sessions() as session:
        stored = session.scalar(select(UserRow))
        assert stored is not None and token not in stored.token_hash
        payloads = " ".join(e.payload for e in session.scalars(select(EventRow)))
    assert token not in payloads


def test_rotated_or_deactivated_tokens_stop_working(trust: Trust) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    _, token = trust.catalogue.add_user("ana@camden.gov.uk", "camden", ["analyst"])
    new = trust.catalogue.rotate_token("ana@camden.gov.uk")
    with pytest.raises(NotAuthenticated):
        trust.catalogue.authenticate(token)
    trust.catalogue.deactivate_user("ana@camden.gov.uk")
    with pytest.raises(NotAuthenticated):
        trust.catalogue.authenticate(new)


def test_user_needs_a_known_member_and_role(trust: Trust) -> None:
    with pytest.raises(NotFound, match="accord member add"):
        trust.catalogue.add_user("a@b.gov.uk", "nobody", ["analyst"])
    trust.catalogue.add_member("camden", "London Borough of Camden")
    with pytest.raises(InvalidInput, match="choose from"):
        trust.catalogue.add_user("a@b.gov.uk", "camden", ["boss"])


def test_each_change_is_an_event_with_its_actor(trust: Trust) -> None:
    trust.catalogue.add_member("camden", "London Borough of Camden")  # the trust operator
    trust.catalogue.add_user("admin@camden.gov.uk", "camden", "admin")
    admin = trust.catalogue.get_user("admin@camden.gov.uk")
    trust.catalogue.add_user("a@camden.gov.uk", "camden", "ig-lead", actor=admin)
    with trust.store.sessions() as session:
        events = list(session.scalars(select(EventRow).order_by(EventRow.seq)))
    kinds = ["trust.initialised", "member.added", "user.added", "user.added"]
    assert [e.kind for e in events] == kinds
    assert events[1].actor == "operator:tester@accord.test"
    assert events[3].actor == "admin@camden.gov.uk"
    assert json.loads(events[3].payload)["roles"] == ["ig-lead"]
    assert events[3].member == "camden"
