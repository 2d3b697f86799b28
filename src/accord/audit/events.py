"""Events of the audit log itself: an export of the whole log for an outside auditor."""

from __future__ import annotations

from typing import ClassVar

from accord.events import Event


class AuditExported(Event):
    """The log was written to a folder outside the trust (entries, checkpoints, public key)."""

    kind: ClassVar[str] = "audit.exported"
    folder: str
    entries: int
    checkpoints: int
    by: str
