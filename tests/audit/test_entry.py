"""An entry's canonical bytes are exactly Accord's canonical JSON of its fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from accord.audit.entry import entry_bytes, iso_utc
from accord.core.crypto.canonical import canonical_json

texts = st.text()
optional = st.none() | st.text()


@given(st.integers(min_value=1, max_value=2**62), texts, texts, texts, optional, optional, texts)
def test_entry_bytes_are_canonical_json(
    index: int,
    when: str,
    actor: str,
    kind: str,
    member: str | None,
    agreement: str | None,
    payload: str,
) -> None:
    fields = {
        "index": index,
        "occurred_at": when,
        "actor": actor,
        "kind": kind,
        "member": member,
        "agreement": agreement,
        "payload": payload,
        "prev_hash": "ab" * 32,
    }
    try:
        expected = canonical_json(fields)
    except UnicodeEncodeError:  # lone surrogates cannot be UTF-8 either way
        return
    assert entry_bytes(**fields) == expected  # type: ignore[arg-type]


def test_times_are_utc_with_microseconds_whatever_their_zone() -> None:
    moment = datetime(2026, 11, 25, 11, 0, tzinfo=timezone(timedelta(hours=1)))
    assert iso_utc(moment) == "2026-11-25T10:00:00.000000+00:00"
    assert iso_utc(datetime(2026, 11, 25, 10, 0, 0, 5, tzinfo=UTC)).endswith(".000005+00:00")
