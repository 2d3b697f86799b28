"""What the catalogue hands out: plain pydantic values shared by the CLI, API and web."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

ROLES = ("analyst", "data-owner", "ig-lead", "admin")


class Member(BaseModel):
    name: str
    title: str
    public_key: str
    created_at: datetime


class User(BaseModel):
    email: str
    member: str
    roles: list[str]
    active: bool
    created_at: datetime

    def has_role(self, role: str) -> bool:
        return role in self.roles


class Version(BaseModel):
    member: str
    dataset: str
    number: int
    mode: str
    path: str
    source_name: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    row_count: int
    sha256: str
    created_at: datetime


class Dataset(BaseModel):
    member: str
    name: str
    title: str
    contract_sha256: str
    created_at: datetime
    latest: Version | None = None
    version_count: int = 0
    freshness_sla_days: int | None = None
    fresh: bool | None = None

    @property
    def ref(self) -> str:
        return f"{self.member}/{self.name}"
