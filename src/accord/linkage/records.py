"""Values linkage hands out, shared by the CLI, API and web."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel

from accord.errors import InvalidInput

_RECORD = re.compile(r"^([a-z][a-z0-9-]*/[a-z][a-z0-9_]*)[:#](.+)$")


def parse_record(text: str) -> tuple[str, str]:
    """``member/dataset:key`` → (dataset ref, record key).

    Examples:
        >>> parse_record("camden/school_census:P001|2024")
        ('camden/school_census', 'P001|2024')
    """
    match = _RECORD.match(text.strip())
    if not match:
        raise InvalidInput(
            f"{text!r} is not a record reference: write MEMBER/DATASET:KEY, "
            "e.g. camden/school_census:P00123"
        )
    return match.group(1), match.group(2)


def record_text(dataset: str, key: str) -> str:
    return f"{dataset}:{key}"


class LinkRun(BaseModel):
    agreement: str
    agreement_version: int | None
    number: int
    kind: str
    backend: str
    model_version: int | None
    datasets: list[str]
    roles: list[str]
    link_threshold: float
    review_floor: float
    records: int
    pairs: int
    clusters: int
    review_added: int
    keys_created: int
    keys_retired: int
    summary: dict
    finished_at: datetime


class ReviewItem(BaseModel):
    id: int
    record_a: str
    record_b: str
    match_probability: float | None
    status: str
    reviewer: str | None = None
    decided_at: datetime | None = None


class LinkStatus(BaseModel):
    agreement: str
    run: LinkRun | None
    model_version: int | None
    model_path: str | None
    review_open: int
    review_decided: int
    person_keys: int
