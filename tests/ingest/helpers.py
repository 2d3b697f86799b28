"""Contract and file helpers shared by the ingest tests."""

from __future__ import annotations

import copy
from typing import Any

BASE_CONTRACT: dict[str, Any] = {
    "name": "pupils",
    "owner": "camden",
    "title": "Camden pupils",
    "freshness_sla_days": 120,
    "schema": {
        "primaryKey": "pupil_id",
        "fields": [
            {"name": "pupil_id", "type": "string", "constraints": {"required": True}},
            {"name": "name", "type": "string", "accord": {"category": "personal"}},
            {"name": "age", "type": "integer"},
        ],
    },
}

HEADER = "pupil_id,name,age"


def contract_with(
    *fields: dict[str, Any], primary_key: str | list[str] | None = "pupil_id"
) -> dict[str, Any]:
    """The base contract plus extra fields (and optionally another primary key)."""
    contract = copy.deepcopy(BASE_CONTRACT)
    contract["schema"]["fields"].extend(fields)
    if primary_key is None:
        del contract["schema"]["primaryKey"]
    else:
        contract["schema"]["primaryKey"] = primary_key
    return contract
