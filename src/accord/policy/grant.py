"""What an active agreement grants one recipient for one purpose.

The agreements service makes an :class:`AccessGrant` after its policy decision allows access; the
query path enforces it (which columns a query may touch, which rows it sees, what may leave).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class DatasetGrant:
    """The fields of one dataset that are shared, and the rows (row scope) they are shared for."""

    dataset: str  # "member/name"
    fields: frozenset[str]
    row_scope: str | None = None  # a SQL predicate over the dataset's own columns


@dataclass(frozen=True)
class OutputRules:
    """What may leave the trust in an answer."""

    record_level: bool = False
    # "member/dataset.field" names that may appear in record-level output.
    record_fields: frozenset[str] = frozenset()
    # Whether a recipient-specific pseudonym of the person key may appear in record-level output.
    person_pseudonym: bool = False
    aggregate: bool = True
    min_cell_size: int = 10


@dataclass(frozen=True)
class AccessGrant:
    agreement_id: str
    agreement_version: int
    purpose: str
    recipient: str  # the member that receives answers
    datasets: dict[str, DatasetGrant]
    outputs: OutputRules
    linkage: bool = False
    opt_out_applies: bool = False
    valid_from: datetime | None = None
    expires: datetime | None = None
    policy_ids: tuple[str, ...] = field(default_factory=tuple)

    def granted(self, dataset: str, field_name: str) -> bool:
        grant = self.datasets.get(dataset)
        return grant is not None and field_name in grant.fields
