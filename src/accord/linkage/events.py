"""Events of linkage; the audit log subscribes to them."""

from __future__ import annotations

from typing import ClassVar

from accord.events import Event


class LinkRunCompleted(Event):
    kind: ClassVar[str] = "linkage.run-completed"
    agreement: str
    agreement_version: int | None
    run: int
    run_kind: str
    backend: str
    model_version: int | None
    datasets: list[str]
    records: int
    pairs: int
    clusters: int
    review_added: int
    keys_created: int
    keys_retired: int


class ReviewDecided(Event):
    kind: ClassVar[str] = "linkage.review-decided"
    agreement: str
    record_a: str
    record_b: str
    decision: str  # accepted | rejected
    match_probability: float | None


class PersonKeysMerged(Event):
    kind: ClassVar[str] = "linkage.keys-merged"
    agreement: str
    run: int
    kept: str
    absorbed: list[str]


class PersonKeysSplit(Event):
    kind: ClassVar[str] = "linkage.keys-split"
    agreement: str
    run: int
    key: str
    into: list[str]


class LinkExported(Event):
    kind: ClassVar[str] = "linkage.exported"
    agreement: str
    run: int
    rows: int
    path: str
    by: str
