"""Every IG check fires on an agreement that breaks it and stays quiet on good ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from accord.agreements.lint import (
    RULES,
    LintContext,
    Severity,
    lint,
    register_rule,
    unregister_rule,
)
from accord.agreements.model import Agreement, parse_agreement
from accord.agreements.templates import render_template
from accord.catalogue.contract import Contract, load_contract

from .conftest import CONTRACTS, MEMBERS, TODAY

CATALOGUE: dict[str, Contract] = {
    c.ref: c for c in (load_contract(p) for p in sorted(CONTRACTS.glob("*.yaml")))
}


def data(name: str) -> dict[str, Any]:
    return yaml.safe_load(render_template(name, today=TODAY))


def context(agreement: Agreement) -> LintContext:
    refs = {s.dataset for s in agreement.datasets}
    refs |= {r.rpartition(".")[0] for r in agreement.outputs.record_level.fields}
    return LintContext(
        agreement=agreement,
        contracts={r: CATALOGUE.get(r) for r in refs},
        members=set(MEMBERS),
        max_retention_days=3650,
    )


def fires(agreement: dict[str, Any]) -> set[str]:
    return lint(context(parse_agreement(agreement))).rules_fired()


# One breaking change per rule: (rule, template, mutation of the template's data).
Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(d: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        for p in parents:
            d = d[int(p)] if isinstance(d, list) else d[p]
        d[last] = value

    return apply


def _add_field(index: int, name: str) -> Mutation:
    return lambda d: d["datasets"][index]["fields"].append(name)


BAD: dict[str, tuple[str, Mutation]] = {
    "purpose-missing": ("fsm", _set("purpose", None)),
    "purpose-not-registered": ("fsm", _set("purpose.code", "selling-data")),
    "lawful-basis-missing": ("fsm", _set("lawful_basis.article6", None)),
    "legislation-missing": ("fsm", _set("lawful_basis.legislation", [])),
    "article9-missing": ("vps", _set("lawful_basis.article9", None)),
    "opt-out-mismatch": ("homelessness", _set("national_data_opt_out", False)),
    "unknown-member": ("fsm", _set("parties.recipients", ["islington", "atlantis"])),
    "controllers-missing": ("fsm", _set("parties.controllers", [])),
    "recipient-not-party": ("fsm", _set("parties.recipients", ["islington", "hackney"])),
    "provider-not-party": ("fsm", _set("parties.controllers", ["islington"])),
    "access-roles-broad": ("fsm", _set("access_roles", ["analyst", "admin"])),
    "no-datasets": ("fsm", _set("datasets", [])),
    "unknown-dataset": ("fsm", _set("datasets.0.dataset", "camden/pupils_typo")),
    "unknown-field": ("fsm", _add_field(0, "shoe_size")),
    "output-field-not-shared": (
        "fsm",
        lambda d: d["outputs"]["record_level"]["fields"].append("camden/school_census.sex"),
    ),
    "duplicate-share": ("fsm", lambda d: d["datasets"].append(dict(d["datasets"][1]))),
    "row-scope-invalid": ("fsm", _set("datasets.0.row_scope", "home_borough = ")),
    "row-scope-unknown-column": ("fsm", _set("datasets.0.row_scope", "borough = 'islington'")),
    "unused-field": ("fsm", _add_field(0, "year_group")),
    "linkage-identifier-not-shared": (
        "fsm",
        _set("linkage.identifier_roles", ["given_name", "nhs_number"]),
    ),
    "record-level-special-category": (
        "vps",
        _set("outputs.record_level.special_category_need", None),
    ),
    "dpia-missing": ("homelessness", _set("dpia_reference", None)),
    "onward-sharing": ("fsm", _set("onward_sharing.permitted", True)),
    "retention-missing": ("fsm", _set("retention_days", None)),
    "retention-too-long": ("fsm", _set("retention_days", 5000)),
    "expiry-missing": ("fsm", _set("expires", None)),
    "dates-inverted": ("fsm", _set("expires", "2000-01-01")),
    "review-after-expiry": ("fsm", _set("review_date", "2999-01-01")),
    "breach-contact-missing": ("fsm", _set("breach_contact", "")),
}


def test_every_built_in_rule_has_a_breaking_case() -> None:
    lint(context(parse_agreement(data("fsm"))))  # loads the built-ins
    assert set(RULES) - {"test-custom"} == set(BAD)


@pytest.mark.parametrize("template", ["fsm", "vps", "homelessness"])
def test_the_templates_pass_every_check(template: str) -> None:
    assert lint(context(parse_agreement(data(template)))).findings == []


@pytest.mark.parametrize("rule", sorted(BAD))
def test_rule_fires_on_an_agreement_that_breaks_it(rule: str) -> None:
    template, mutate = BAD[rule]
    agreement = data(template)
    mutate(agreement)
    assert rule in fires(agreement)


@pytest.mark.parametrize("rule", sorted(BAD))
def test_rule_is_quiet_on_the_good_agreement(rule: str) -> None:
    template, _ = BAD[rule]
    report = lint(context(parse_agreement(data(template))), rules=[rule])
    assert report.findings == []


def test_findings_are_plain_words_with_a_severity() -> None:
    agreement = data("vps")
    agreement["lawful_basis"]["article9"] = None
    report = lint(context(parse_agreement(agreement)))
    finding = next(f for f in report.findings if f.rule == "article9-missing")
    assert finding.severity is Severity.error
    assert "nhs/shielding_list.needs_food_support" in finding.message
    assert "Article 9" in finding.message


def test_warnings_do_not_block_signing() -> None:
    agreement = data("fsm")
    agreement["breach_contact"] = None
    report = lint(context(parse_agreement(agreement)))
    assert report.warnings and report.ok


def test_a_row_scope_with_a_subquery_is_refused() -> None:
    agreement = data("fsm")
    agreement["datasets"][0]["row_scope"] = "pupil_id IN (SELECT pupil_id FROM other)"
    assert "row-scope-invalid" in fires(agreement)


def test_a_trust_can_add_its_own_rule() -> None:
    @register_rule("test-custom", Severity.error, "Title names the year")
    def _title_year(ctx: LintContext):  # type: ignore[no-untyped-def]
        if not any(ch.isdigit() for ch in ctx.agreement.title):
            yield "The title does not say which year the agreement is for."

    try:
        report = lint(context(parse_agreement(data("fsm"))))
        assert [f.rule for f in report.errors] == ["test-custom"]
    finally:
        unregister_rule("test-custom")
