"""The published JSON Schema, the templates and the ODRL export."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from accord.agreements.model import json_schema
from accord.agreements.odrl import to_odrl
from accord.agreements.templates import render_template, set_scalar
from accord.errors import InvalidInput, NotFound

from .conftest import TODAY, template

DOCS = Path(__file__).parents[2] / "docs"


def test_the_published_json_schema_is_current() -> None:
    published = json.loads((DOCS / "agreement.schema.json").read_text())
    assert published == json_schema()


@pytest.mark.parametrize("name", ["fsm", "vps", "homelessness"])
def test_templates_validate_against_the_published_schema(name: str) -> None:
    data = yaml.safe_load(render_template(name, today=TODAY))
    jsonschema.validate(json.loads(json.dumps(data, default=str)), json_schema())


def test_template_dates_are_filled_in_from_today() -> None:
    agreement = template("fsm")
    assert agreement.valid_from == TODAY
    assert (agreement.expires - TODAY).days == 365


def test_set_keeps_the_comments() -> None:
    text = render_template("fsm", {"purpose.code": "fsm-support", "retention_days": "90"})
    assert "retention_days: 90" in text
    assert "# A code from the trust's purposes register." in text


def test_set_of_an_unknown_key_says_so() -> None:
    with pytest.raises(InvalidInput, match="no key 'retention'"):
        set_scalar(render_template("fsm"), "retention", "90")


def test_an_unknown_template_names_the_choices() -> None:
    with pytest.raises(NotFound, match="blank, fsm, homelessness, vps"):
        render_template("nope")


def test_odrl_export_carries_purpose_basis_duties_and_prohibitions() -> None:
    doc = to_odrl(template("homelessness"), 1)
    assert doc["@type"] == "Agreement"
    assert {"@id": "eu-gdpr:A6-1-e"} in doc["dpv:hasLegalBasis"]
    assert {"@id": "eu-gdpr:A9-2-g"} in doc["dpv:hasLegalBasis"]
    share = doc["permission"][0]
    assert share["action"] == "use" and share["assignee"].endswith("/members/camden")
    assert {
        "action": "delete",
        "constraint": [{"leftOperand": "elapsedTime", "operator": "lteq", "rightOperand": "P730D"}],
    } in share["duty"]
    aggregate = next(p for p in doc["permission"] if p["action"] == "aggregate")
    assert {"leftOperand": "count", "operator": "gteq", "rightOperand": 10} in aggregate[
        "constraint"
    ]
    assert any(p["action"] == "distribute" for p in doc["prohibition"])
