"""Dataset contracts: a Frictionless Table Schema plus Accord's own keys.

A contract says what a dataset holds and promises: its fields and their types and constraints
(checked on every ingest), how personal each field is, which fields identify a person for
linkage, who owns it and how fresh it must be.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from frictionless import Schema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from accord.core.crypto.canonical import canonical_json
from accord.errors import InvalidInput

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
MEMBER_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class Category(StrEnum):
    none = "none"
    personal = "personal"
    special_category = "special-category"


class Role(StrEnum):
    """What a field tells about who a person is; linkage builds its comparisons from these."""

    nhs_number = "nhs_number"
    given_name = "given_name"
    middle_name = "middle_name"
    family_name = "family_name"
    full_name = "full_name"
    date_of_birth = "date_of_birth"
    sex = "sex"
    postcode = "postcode"
    address = "address"
    uprn = "uprn"
    email = "email"
    phone = "phone"
    record_id = "record_id"


FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "year"]


class AccordKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category: Category = Category.none
    role: Role | None = None


class Constraints(BaseModel):
    model_config = ConfigDict(extra="forbid")
    required: bool = False
    unique: bool = False
    enum: list[Any] | None = None
    pattern: str | None = None
    minimum: Any = None
    maximum: Any = None
    minLength: int | None = None
    maxLength: int | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(
                    f"pattern {value!r} is not a valid regular expression: {exc}"
                ) from exc
        return value


class FieldSpec(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str = Field(pattern=NAME_PATTERN)
    type: FieldType = "string"
    format: str = "default"
    title: str | None = None
    description: str | None = None
    constraints: Constraints = Field(default_factory=Constraints)
    trueValues: list[str] = Field(default_factory=lambda: ["true", "True", "TRUE", "1"])
    falseValues: list[str] = Field(default_factory=lambda: ["false", "False", "FALSE", "0"])
    accord: AccordKeys = Field(default_factory=AccordKeys)

    @property
    def role(self) -> Role | None:
        return self.accord.role

    @property
    def category(self) -> Category:
        return self.accord.category


class TableSchema(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)
    fields: list[FieldSpec] = Field(min_length=1)
    primaryKey: list[str] = Field(default_factory=list)
    missingValues: list[str] = Field(default_factory=lambda: [""])

    @field_validator("primaryKey", mode="before")
    @classmethod
    def _key_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> TableSchema:
        names = [f.name for f in self.fields]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"field {name!r} is declared twice")
            seen.add(name)
        for key in self.primaryKey:
            if key not in seen:
                raise ValueError(f"primaryKey names {key!r}, which is not a field")
        return self


class Contract(BaseModel):
    """A dataset's contract.

    Examples:
        >>> contract = Contract.from_file("contracts/camden/school_census.yaml")  # doctest: +SKIP
        >>> contract.field("date_of_birth").role  # doctest: +SKIP
        <Role.date_of_birth: 'date_of_birth'>
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    name: str = Field(pattern=NAME_PATTERN)
    owner: str = Field(pattern=MEMBER_PATTERN)
    title: str = Field(min_length=1)
    description: str = ""
    update_frequency: Literal[
        "realtime", "daily", "weekly", "monthly", "termly", "quarterly", "annual", "adhoc"
    ] = "adhoc"
    freshness_sla_days: int | None = Field(default=None, ge=1)
    may_hold_duplicates: bool = False
    table_schema: TableSchema = Field(alias="schema")

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def fields(self) -> list[FieldSpec]:
        return self.table_schema.fields

    @property
    def primary_key(self) -> list[str]:
        return self.table_schema.primaryKey

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def fields_with_role(self, role: Role | str) -> list[FieldSpec]:
        return [f for f in self.fields if f.role == Role(role)]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    @classmethod
    def from_dict(cls, data: Any, source: str = "contract") -> Contract:
        return parse_contract(data, source)

    @classmethod
    def from_file(cls, path: Path | str) -> Contract:
        return load_contract(path)


def load_contract(path: Path | str) -> Contract:
    """Read and validate a contract file (YAML or JSON); errors name the field and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read the contract file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"The contract file {path} is not valid YAML/JSON: {exc}") from exc
    return parse_contract(data, str(path))


def parse_contract(data: Any, source: str = "contract") -> Contract:
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: a contract must be a mapping with name, owner and schema")
    try:
        contract = Contract.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"{source} is not a valid contract",
            details=[_describe(err, data) for err in exc.errors()],
        ) from exc
    problems = _frictionless_problems(data.get("schema", {}))
    if problems:
        raise InvalidInput(f"{source} is not a valid Table Schema", details=problems)
    return contract


def _describe(error: Any, data: dict[str, Any]) -> str:
    location = ".".join(str(part) for part in error["loc"])
    loc = error["loc"]
    if len(loc) >= 3 and loc[:2] == ("schema", "fields") and isinstance(loc[2], int):
        # Name the field itself, not its position: "field 'dob', type" beats "fields.3.type".
        schema = data.get("schema")
        fields = schema.get("fields") if isinstance(schema, dict) else None
        spec = fields[loc[2]] if isinstance(fields, list) and loc[2] < len(fields) else None
        if isinstance(spec, dict) and spec.get("name"):
            rest = ".".join(str(part) for part in loc[3:])
            location = f"field {spec['name']!r}" + (f", {rest}" if rest else "")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a contract key (misspelt?)"
    return f"{location}: {message}"


def _frictionless_problems(schema: dict[str, Any]) -> list[str]:
    # Frictionless checks the Table Schema standard itself (types, formats, constraint names);
    # Accord's own keys are checked by the pydantic model above.
    descriptor = {
        **schema,
        "fields": [
            {k: v for k, v in field.items() if k != "accord"} for field in schema.get("fields", [])
        ],
    }
    report = Schema.validate_descriptor(descriptor)
    return [f"schema: {error.note}" for error in report.errors]
