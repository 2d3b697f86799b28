"""IG checks on an agreement: a registry of small rules, each explained in plain words.

A finding with severity ``error`` blocks signing; a ``warning`` does not. The built-in rules live
in :mod:`accord.agreements.rules` and are registered exactly the way a trust adds its own:

Examples:
    >>> from accord.agreements.lint import Severity, register_rule
    >>> @register_rule("title-mentions-year", Severity.warning, "Title names the year")
    ... def _title_year(ctx):
    ...     if not any(ch.isdigit() for ch in ctx.agreement.title):
    ...         yield "The title does not say which year the agreement is for."
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from accord.agreements.model import Agreement
from accord.agreements.purposes import PURPOSES, RegisteredPurpose
from accord.catalogue.contract import Category, Contract, FieldSpec


class Severity(StrEnum):
    error = "error"  # blocks signing
    warning = "warning"  # worth a look; does not block


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.severity.value}: {self.message} [{self.rule}]"


@dataclass
class LintContext:
    """What a rule may look at: the agreement, the catalogue's contracts, the trust's settings."""

    agreement: Agreement
    # Dataset ref -> its contract, or None when the catalogue has no such dataset.
    contracts: dict[str, Contract | None] = field(default_factory=dict)
    # Names of the trust's members; None when linting without a trust (member checks skipped).
    members: set[str] | None = None
    max_retention_days: int = 3650
    purposes: dict[str, RegisteredPurpose] = field(default_factory=lambda: PURPOSES)

    def contract(self, ref: str) -> Contract | None:
        return self.contracts.get(ref)

    def spec(self, ref: str, name: str) -> FieldSpec | None:
        contract = self.contract(ref)
        if contract is None:
            return None
        try:
            return contract.field(name)
        except KeyError:
            return None

    def shared_specs(self) -> Iterable[tuple[str, FieldSpec]]:
        """Every shared field that the catalogue knows, with its dataset ref."""
        for ref, names in sorted(self.agreement.shared_fields().items()):
            for name in sorted(names):
                spec = self.spec(ref, name)
                if spec is not None:
                    yield ref, spec

    def special_category_fields(self) -> list[str]:
        return [
            f"{ref}.{spec.name}"
            for ref, spec in self.shared_specs()
            if spec.category is Category.special_category
        ]


RuleCheck = Callable[[LintContext], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    title: str
    check: RuleCheck


RULES: dict[str, Rule] = {}


def register_rule(code: str, severity: Severity, title: str) -> Callable[[RuleCheck], RuleCheck]:
    """Register an IG check: a function of the :class:`LintContext` yielding plain-word messages."""

    def decorate(check: RuleCheck) -> RuleCheck:
        RULES[code] = Rule(code, Severity(severity), title, check)
        return check

    return decorate


def unregister_rule(code: str) -> None:
    RULES.pop(code, None)


@dataclass(frozen=True)
class LintReport:
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.warning]

    @property
    def ok(self) -> bool:
        """True when nothing blocks signing."""
        return not self.errors

    def rules_fired(self) -> set[str]:
        return {f.rule for f in self.findings}


def lint(context: LintContext, rules: Iterable[str] | None = None) -> LintReport:
    """Run every registered rule (or only ``rules``) and collect their findings."""
    import accord.agreements.rules  # noqa: F401 - registers the built-in rules

    chosen = [RULES[c] for c in rules] if rules is not None else list(RULES.values())
    findings: list[Finding] = []
    for rule in chosen:
        findings.extend(Finding(rule.code, rule.severity, m) for m in rule.check(context))
    order = {Severity.error: 0, Severity.warning: 1}
    findings.sort(key=lambda f: order[f.severity])
    return LintReport(findings)
