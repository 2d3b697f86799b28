"""The purposes register: the reasons for sharing a trust recognises, kept as data.

Each purpose says whether it is individual care/support or planning/research; the national data
opt-out applies to the latter. A trust can add its own with :func:`register_purpose`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

REGISTER_FILE = Path(__file__).with_name("purposes.yaml")


class PurposeCategory(StrEnum):
    individual_care = "individual-care"
    planning_research = "planning-research"


class RegisteredPurpose(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    code: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    description: str
    dpv: str
    category: PurposeCategory

    @property
    def opt_out_applies(self) -> bool:
        """The national data opt-out applies to planning and research, not to individual care."""
        return self.category is PurposeCategory.planning_research


def _load() -> dict[str, RegisteredPurpose]:
    entries = yaml.safe_load(REGISTER_FILE.read_text(encoding="utf-8"))
    return {e["code"]: RegisteredPurpose.model_validate(e) for e in entries}


PURPOSES: dict[str, RegisteredPurpose] = _load()


def get_purpose(code: str | None) -> RegisteredPurpose | None:
    """The registered purpose with ``code``, or None.

    Examples:
        >>> get_purpose("fsm-support").category
        <PurposeCategory.individual_care: 'individual-care'>
    """
    return PURPOSES.get(code) if code else None


def register_purpose(purpose: RegisteredPurpose) -> None:
    """Add (or replace) a purpose in this process's register."""
    PURPOSES[purpose.code] = purpose
