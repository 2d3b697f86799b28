"""A source of records to link: a dataset reference, its contract and its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from accord.catalogue.contract import Contract, Role
from accord.errors import InvalidInput

# How a field's values arrive. "clear" is the value itself; "keyed" is a keyed pseudonym
# (exact comparison only); Bloom-filter encodings are planned and slot in beside them.
CLEAR = "clear"
KEYED = "keyed"


@dataclass
class LinkSource:
    """One dataset taking part in a linkage.

    Examples:
        >>> LinkSource("camden/school_census", contract, "census.parquet")  # doctest: +SKIP
    """

    ref: str
    contract: Contract
    table: pa.Table | Path | str
    # Encoding of each role's fields when not in clear (e.g. {Role.nhs_number: "keyed"}).
    encodings: dict[Role, str] = field(default_factory=dict)

    def read(self) -> pa.Table:
        """The source's rows as an Arrow table."""
        if isinstance(self.table, pa.Table):
            return self.table
        path = Path(self.table)
        if not path.exists():
            raise InvalidInput(f"The data of {self.ref} is missing: {path} does not exist")
        return pq.read_table(path)

    def encoding(self, role: Role) -> str:
        return self.encodings.get(role, CLEAR)

    @property
    def may_hold_duplicates(self) -> bool:
        return self.contract.may_hold_duplicates

    def key_fields(self) -> list[str]:
        """The fields that identify a record in this source (primary key, else record_id)."""
        if self.contract.primary_key:
            return list(self.contract.primary_key)
        ids = self.contract.fields_with_role(Role.record_id)
        if ids:
            return [ids[0].name]
        raise InvalidInput(
            f"{self.ref} cannot be linked: its contract names no primaryKey and no field with "
            "role record_id, so its records could not be told apart in the person-key table"
        )
