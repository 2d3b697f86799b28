"""Statistical disclosure control: SACRO/ACRO's rules as a registry, applied to answer tables."""

from accord.policy.sdc.rules import (
    RULES,
    CellEvidence,
    Rule,
    SDCSettings,
    register_rule,
)
from accord.policy.sdc.table import CellChange, ControlledTable, MeasureCells, add_totals, control

__all__ = [
    "RULES",
    "CellChange",
    "CellEvidence",
    "ControlledTable",
    "MeasureCells",
    "Rule",
    "SDCSettings",
    "add_totals",
    "control",
    "register_rule",
]
