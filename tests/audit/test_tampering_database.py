"""Tampering with the events table directly is detected, and the first bad entry is named.

Each test plays someone with write access to the database (raw SQL, no Accord code) and runs
on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import text

from accord import Trust
from accord.audit.checkpoints import Checkpoint
from accord.audit.entry import entry_bytes
from accord.audit.reader import db_entries


def test_an_untouched_log_verifies(filled: Trust) -> None:
    filled.audit.checkpoint()
    report = filled.audit.verify()
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints, report.first_bad) == (12, 1, None)


def test_an_altered_entry_is_named(filled: Trust, tamper: Callable[..., None]) -> None:
    tamper(filled, "UPDATE events SET actor = 'someone-else' WHERE chain_index = 5")
    report = filled.audit.verify()
    assert not report.ok
    assert report.first_bad == 5
    assert "Entry 5 was altered" in report.summary()


def test_an_altered_entry_with_a_recomputed_hash_breaks_the_next_link(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    with filled.store.engine.connect() as connection:
        row = next(db_entries(connection, after=4, upto=5))
    forged = hashlib.sha256(
        entry_bytes(5, row[2], "someone-else", row[4], row[5], row[6], row[7], row[8])
    ).hexdigest()
    tamper(
        filled,
        "UPDATE events SET actor = 'someone-else', entry_hash = :h WHERE chain_index = 5",
        h=forged,
    )
    report = filled.audit.verify()
    assert report.first_bad == 5
    assert "broken between entries 5 and 6" in report.summary()


def test_a_deleted_entry_is_named(filled: Trust, tamper: Callable[..., None]) -> None:
    tamper(filled, "DELETE FROM events WHERE chain_index = 7")
    report = filled.audit.verify()
    assert report.first_bad == 7
    assert "Entry 7 is missing: it was deleted" in report.summary()


def test_a_deletion_hidden_by_renumbering_is_named(
    filled: Trust, tamper: Callable[..., None], shift: Callable[..., None]
) -> None:
    tamper(filled, "DELETE FROM events WHERE chain_index = 7")
    shift(filled, "chain_index > 7", "chain_index - 1")
    report = filled.audit.verify()
    assert report.first_bad == 7
    assert "Entry 7 was deleted and the entries after it renumbered" in report.summary()


def test_a_row_inserted_outside_accord_is_named_by_its_seq(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    tamper(
        filled,
        "INSERT INTO events (occurred_at, actor, kind, member, agreement, payload) "
        "SELECT occurred_at, actor, kind, member, agreement, '{}' FROM events "
        "WHERE chain_index = 3",
    )
    with filled.store.engine.connect() as connection:
        seq = connection.execute(text("SELECT max(seq) FROM events")).scalar_one()
    report = filled.audit.verify()
    assert not report.ok
    assert report.first_bad_seq == seq
    assert f"not in the chain (seq {seq})" in report.summary()


def test_a_well_forged_entry_inserted_mid_chain_is_named(
    filled: Trust, tamper: Callable[..., None], shift: Callable[..., None]
) -> None:
    # The attacker knows the format: entry 5 links to entry 4 and hashes correctly.
    with filled.store.engine.connect() as connection:
        template = next(db_entries(connection, after=2, upto=3))
        prev = next(db_entries(connection, after=3, upto=4))[9]
    forged = hashlib.sha256(
        entry_bytes(5, *template[2:8], prev)  # type: ignore[misc]
    ).hexdigest()
    shift(filled, "chain_index >= 5", "chain_index + 1")
    tamper(
        filled,
        "INSERT INTO events (occurred_at, actor, kind, member, agreement, payload, "
        "chain_index, prev_hash, entry_hash) "
        "SELECT occurred_at, actor, kind, member, agreement, payload, 5, :p, :h "
        "FROM events WHERE chain_index = 3",
        p=prev,
        h=forged,
    )
    report = filled.audit.verify()
    assert report.first_bad == 5
    assert "Entry 5 was inserted" in report.summary()


def test_reordered_entries_are_named(filled: Trust, tamper: Callable[..., None]) -> None:
    tamper(filled, "UPDATE events SET chain_index = -1 WHERE chain_index = 8")
    tamper(filled, "UPDATE events SET chain_index = 8 WHERE chain_index = 9")
    tamper(filled, "UPDATE events SET chain_index = 9 WHERE chain_index = -1")
    report = filled.audit.verify()
    assert report.first_bad == 8
    assert "Entries 8 and 9 were swapped" in report.summary()


def test_a_rewritten_and_rechained_history_is_caught_by_its_checkpoint(
    filled: Trust,
    add: Callable[..., None],
    tamper: Callable[..., None],
    recompute: Callable[..., None],
) -> None:
    filled.audit.checkpoint()  # covers 1..12
    add(filled, 4)
    filled.audit.checkpoint()  # covers 1..16
    tamper(filled, "UPDATE events SET actor = 'nobody' WHERE chain_index = 14")
    with filled.store.engine.begin() as connection:
        recompute(connection, 14)
    report = filled.audit.verify()
    assert report.first_bad == 13
    assert "Entries 13 to 16 no longer match the checkpoint of 16 entries" in report.summary()


def test_entries_cut_from_the_end_are_caught_by_the_checkpoint(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    filled.audit.checkpoint()
    tamper(filled, "DELETE FROM events WHERE chain_index >= 11")
    report = filled.audit.verify()
    assert report.first_bad == 11
    assert "entries 11 to 12 were deleted" in report.summary()


def test_a_forged_checkpoint_signature_is_detected(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    filled.audit.checkpoint()
    tamper(filled, "UPDATE audit_checkpoints SET tree_size = 11")
    report = filled.audit.verify()
    assert not report.ok
    assert "signature that the trust's key did not make" in report.summary()


def test_a_checkpoint_kept_elsewhere_catches_a_cut_whose_checkpoints_were_wiped(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    kept: Checkpoint = filled.audit.checkpoint()
    tamper(filled, "DELETE FROM audit_checkpoints")
    tamper(filled, "DELETE FROM events WHERE chain_index = 12")
    assert filled.audit.verify().ok  # nothing inside the trust can tell any more …
    report = filled.audit.verify(anchors=[kept])  # … but the kept checkpoint can
    assert report.first_bad == 12
    assert "entries 12 to 12 were deleted" in report.summary()


def test_the_trust_refuses_to_sign_a_damaged_log(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    import pytest

    from accord.errors import IntegrityError

    tamper(filled, "UPDATE events SET kind = 'x' WHERE chain_index = 2")
    with pytest.raises(IntegrityError, match="Entry 2 was altered"):
        filled.audit.checkpoint()


def test_a_value_of_the_wrong_type_is_named_as_an_alteration(
    sqlite_trust: Trust, add: Callable[..., None], tamper: Callable[..., None]
) -> None:
    add(sqlite_trust, 6)
    tamper(sqlite_trust, "UPDATE events SET actor = X'00ff' WHERE chain_index = 4")
    report = sqlite_trust.audit.verify()
    assert report.first_bad == 4
    assert "Entry 4 was altered" in report.summary()
