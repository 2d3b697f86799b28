"""Agreements as code: the format, templates, IG checks, signatures, lifecycle and the access
decision every other capability uses."""

from accord.agreements.cedar import Decision
from accord.agreements.lint import Finding, LintContext, Severity, register_rule
from accord.agreements.model import Agreement, load_agreement, parse_agreement

__all__ = [
    "Agreement",
    "Decision",
    "Finding",
    "LintContext",
    "Severity",
    "load_agreement",
    "parse_agreement",
    "register_rule",
]
