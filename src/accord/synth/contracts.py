"""Contracts for the extracts, in Accord's contract format (Frictionless Table Schema + keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from accord.synth.extracts import Column, ExtractSpec


def _field(column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"name": column.name, "type": column.type}
    if column.format:
        out["format"] = column.format
    if column.description:
        out["description"] = column.description
    constraints: dict[str, Any] = {}
    if column.required:
        constraints["required"] = True
    if column.unique:
        constraints["unique"] = True
    if column.enum:
        constraints["enum"] = list(column.enum)
    if column.pattern:
        constraints["pattern"] = column.pattern
    if constraints:
        out["constraints"] = constraints
    if column.true_values:
        out["trueValues"] = list(column.true_values)
    if column.false_values:
        out["falseValues"] = list(column.false_values)
    accord: dict[str, Any] = {"category": column.category}
    if column.role:
        accord["role"] = column.role
    out["accord"] = accord
    return out


def contract_for(spec: ExtractSpec) -> dict[str, Any]:
    """The contract of an extract as a plain mapping, ready to dump as YAML."""
    return {
        "name": spec.dataset,
        "owner": spec.member,
        "title": spec.title,
        "description": spec.description,
        "update_frequency": spec.update_frequency,
        "freshness_sla_days": spec.freshness_sla_days,
        "may_hold_duplicates": spec.may_hold_duplicates,
        "schema": {
            "primaryKey": spec.primary_key,
            "missingValues": [""],
            "fields": [_field(c) for c in spec.columns],
        },
    }


def write_contract(spec: ExtractSpec, path: Path) -> Path:
    """Write the extract's contract YAML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(contract_for(spec), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path
