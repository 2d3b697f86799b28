"""The agreement format: a data-sharing agreement as a file a machine can check.

The vocabulary follows W3C ODRL (permissions: the shares and outputs; prohibitions: onward
sharing; duties: deletion after retention, breach reporting; constraints: purpose, dates, row
scope, cell size) so that :mod:`accord.agreements.odrl` can export it as ODRL JSON-LD.

Fields that the IG checks report on (purpose, lawful basis, retention, expiry) are optional in
the model so that an incomplete draft still loads and ``accord agreement lint`` can say, in plain
words, what is missing — rather than failing with a parser error.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from accord.core.crypto.canonical import canonical_json
from accord.errors import InvalidInput

AGREEMENT_ID = r"^[a-z][a-z0-9-]{2,99}$"
MEMBER = r"^[a-z][a-z0-9-]{0,62}$"
DATASET_REF = r"^[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9_]{0,62}$"
FIELD_REF = r"^[a-z][a-z0-9-]{0,62}/[a-z][a-z0-9_]{0,62}\.[a-z][a-z0-9_]{0,62}$"
ACCESS_ROLES = ("analyst", "data-owner", "ig-lead", "admin")


class Article6(StrEnum):
    """UK GDPR Article 6(1) lawful bases."""

    consent = "consent"  # 6(1)(a)
    contract = "contract"  # 6(1)(b)
    legal_obligation = "legal-obligation"  # 6(1)(c)
    vital_interests = "vital-interests"  # 6(1)(d)
    public_task = "public-task"  # 6(1)(e)
    legitimate_interests = "legitimate-interests"  # 6(1)(f)


class Article9(StrEnum):
    """UK GDPR Article 9(2) conditions for special-category data."""

    explicit_consent = "explicit-consent"  # 9(2)(a)
    employment_social_security = "employment-social-security"  # 9(2)(b)
    vital_interests = "vital-interests"  # 9(2)(c)
    substantial_public_interest = "substantial-public-interest"  # 9(2)(g)
    health_social_care = "health-social-care"  # 9(2)(h)
    public_health = "public-health"  # 9(2)(i)
    archiving_research_statistics = "archiving-research-statistics"  # 9(2)(j)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Parties(_Strict):
    controllers: list[str] = Field(
        default_factory=list, description="Members who are controllers; each must sign."
    )
    recipients: list[str] = Field(
        default_factory=list, description="Members whose users may query under this agreement."
    )

    @field_validator("controllers", "recipients")
    @classmethod
    def _members(cls, value: list[str]) -> list[str]:
        for name in value:
            if not re.match(MEMBER, name):
                raise ValueError(f"{name!r} is not a member name (e.g. camden, nhs)")
        return value


class Purpose(_Strict):
    code: str | None = Field(None, description="A code from the trust's purposes register.")
    description: str | None = None


class LawfulBasis(_Strict):
    article6: Article6 | None = Field(None, description="UK GDPR Article 6(1) basis.")
    article9: Article9 | None = Field(
        None,
        description="UK GDPR Article 9(2) condition; needed when special-category data is shared.",
    )
    legislation: list[str] = Field(
        default_factory=list,
        description="Legislation relied on, e.g. Digital Economy Act 2017 Part 5.",
    )


class DatasetShare(_Strict):
    """One provider dataset: which fields are shared, for which rows, to which recipients."""

    dataset: str = Field(pattern=DATASET_REF, description='"member/dataset"')
    fields: list[str] = Field(min_length=1)
    row_scope: str | None = Field(
        None,
        description="A SQL predicate over the dataset's own columns, e.g. "
        "home_borough = 'islington'.",
    )
    recipients: list[str] | None = Field(
        None, description="Recipients this share is for; default: every recipient."
    )

    @property
    def provider(self) -> str:
        return self.dataset.split("/", 1)[0]

    def for_recipient(self, member: str, all_recipients: list[str]) -> bool:
        return member in (self.recipients if self.recipients is not None else all_recipients)


class Linkage(_Strict):
    permitted: bool = False
    identifier_roles: list[str] = Field(
        default_factory=list, description="Identifier roles linkage may compare (contract roles)."
    )


class RecordLevelOutput(_Strict):
    permitted: bool = False
    fields: list[str] = Field(
        default_factory=list, description='"member/dataset.field" names that may leave.'
    )
    person_pseudonym: bool = Field(
        False, description="Whether a recipient-specific pseudonym of the person may leave."
    )
    roles: list[str] | None = Field(
        None, description="Roles that may receive record-level output; default: all access roles."
    )
    special_category_need: str | None = Field(
        None, description="Why special-category fields must leave record by record."
    )

    @field_validator("fields")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if not re.match(FIELD_REF, ref):
                raise ValueError(f"{ref!r} must be written member/dataset.field")
        return value


class AggregateOutput(_Strict):
    permitted: bool = True
    min_cell_size: int = Field(10, ge=1)
    fields: list[str] = Field(
        default_factory=list,
        description='"member/dataset.field" names aggregates may group or count on.',
    )

    @field_validator("fields")
    @classmethod
    def _refs(cls, value: list[str]) -> list[str]:
        return RecordLevelOutput._refs(value)


class Outputs(_Strict):
    record_level: RecordLevelOutput = Field(default_factory=RecordLevelOutput)
    aggregate: AggregateOutput = Field(default_factory=AggregateOutput)


class OnwardSharing(_Strict):
    permitted: bool = False
    conditions: str | None = None


class PublicRegister(_Strict):
    name: str = "Digital Economy Act 2017 Part 5 register of information-sharing agreements"
    summary: str | None = None
    url: str | None = None


class Agreement(_Strict):
    """A data-sharing agreement.

    Examples:
        >>> agreement = Agreement.from_file("fsm.yaml")  # doctest: +SKIP
        >>> agreement.controllers  # doctest: +SKIP
        ['camden', 'islington']
    """

    id: str = Field(pattern=AGREEMENT_ID)
    title: str = Field(min_length=1)
    parties: Parties = Field(default_factory=Parties)
    purpose: Purpose | None = None
    lawful_basis: LawfulBasis | None = None
    datasets: list[DatasetShare] = Field(default_factory=list)
    linkage: Linkage = Field(default_factory=Linkage)
    outputs: Outputs = Field(default_factory=Outputs)
    access_roles: list[str] = Field(
        default_factory=lambda: ["analyst", "data-owner"],
        description="Roles of a recipient's users that may query under this agreement.",
    )
    national_data_opt_out: bool = Field(
        False, description="Whether people who opted out are left out of answers."
    )
    retention_days: int | None = Field(None, ge=1)
    valid_from: date | None = None
    expires: date | None = None
    dpia_reference: str | None = None
    onward_sharing: OnwardSharing = Field(default_factory=OnwardSharing)
    review_date: date | None = None
    breach_contact: str | None = None
    public_register: PublicRegister = Field(default_factory=PublicRegister)

    @field_validator("access_roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in ACCESS_ROLES:
                raise ValueError(f"{role!r} is not a role: choose from {', '.join(ACCESS_ROLES)}")
        return value

    # -- derived views ---------------------------------------------------------------------

    @property
    def controllers(self) -> list[str]:
        return list(self.parties.controllers)

    @property
    def recipients(self) -> list[str]:
        return list(self.parties.recipients)

    @property
    def purpose_code(self) -> str | None:
        return self.purpose.code if self.purpose else None

    def shares_for(self, member: str) -> list[DatasetShare]:
        return [s for s in self.datasets if s.for_recipient(member, self.recipients)]

    def shared_fields(self) -> dict[str, set[str]]:
        """Dataset ref → every field shared with anyone under this agreement."""
        out: dict[str, set[str]] = {}
        for share in self.datasets:
            out.setdefault(share.dataset, set()).update(share.fields)
        return out

    def starts_at(self) -> datetime | None:
        """Start of ``valid_from`` (00:00 UTC)."""
        return datetime.combine(self.valid_from, time.min, UTC) if self.valid_from else None

    def ends_at(self) -> datetime | None:
        """End of the ``expires`` day: access stops at 00:00 UTC the day after."""
        if self.expires is None:
            return None
        return datetime.combine(self.expires, time.min, UTC) + _ONE_DAY

    # -- canonical form --------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def canonical(self) -> bytes:
        """The exact bytes every controller signs (:func:`accord.core.crypto.canonical_json`)."""
        return canonical_json(self.to_dict())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    @classmethod
    def from_file(cls, path: Path | str) -> Agreement:
        return load_agreement(path)


_ONE_DAY = datetime(2000, 1, 2) - datetime(2000, 1, 1)


def load_agreement(path: Path | str) -> Agreement:
    """Read and validate an agreement file (YAML or JSON)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read the agreement file {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(f"The agreement file {path} is not valid YAML: {exc}") from exc
    return parse_agreement(data, str(path))


def parse_agreement(data: Any, source: str = "agreement") -> Agreement:
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: an agreement must be a mapping with id, title and parties")
    try:
        return Agreement.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"{source} is not a valid agreement", details=[_describe(e) for e in exc.errors()]
        ) from exc


def _describe(error: Any) -> str:
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not an agreement key (misspelt?)"
    return f"{location}: {message}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the agreement format (published as docs/agreement.schema.json)."""
    schema = Agreement.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://accord.example/schemas/agreement.schema.json"
    return schema
