"""The built-in IG checks. One rule, one function; each yields findings in plain words."""

from __future__ import annotations

from collections.abc import Iterator

import sqlglot
from sqlglot import exp

from accord.agreements.lint import LintContext, Severity, register_rule
from accord.catalogue.contract import Category

E, W = Severity.error, Severity.warning


# -- purpose and law -------------------------------------------------------------------------


@register_rule("purpose-missing", E, "Purpose is stated")
def purpose_missing(ctx: LintContext) -> Iterator[str]:
    purpose = ctx.agreement.purpose
    if purpose is None or not purpose.code:
        yield "The agreement does not say what the sharing is for: add purpose.code."
    if purpose is None or not (purpose.description or "").strip():
        yield "The purpose has no description in plain words: add purpose.description."


@register_rule("purpose-not-registered", E, "Purpose is in the trust's register")
def purpose_not_registered(ctx: LintContext) -> Iterator[str]:
    code = ctx.agreement.purpose_code
    if code and code not in ctx.purposes:
        known = ", ".join(sorted(ctx.purposes))
        yield f"The purpose {code!r} is not in the trust's purposes register (known: {known})."


@register_rule("lawful-basis-missing", E, "Article 6 lawful basis is stated")
def lawful_basis_missing(ctx: LintContext) -> Iterator[str]:
    basis = ctx.agreement.lawful_basis
    if basis is None or basis.article6 is None:
        yield (
            "No lawful basis under UK GDPR Article 6 is given: add lawful_basis.article6 "
            "(for councils and the NHS this is usually public-task)."
        )


@register_rule("legislation-missing", W, "Legislation relied on is named")
def legislation_missing(ctx: LintContext) -> Iterator[str]:
    basis = ctx.agreement.lawful_basis
    if basis is not None and not basis.legislation:
        yield (
            "The agreement names no legislation that gives the power to share (for example "
            "Digital Economy Act 2017 Part 5): add lawful_basis.legislation."
        )


@register_rule("article9-missing", E, "Special-category data has an Article 9 condition")
def article9_missing(ctx: LintContext) -> Iterator[str]:
    special = ctx.special_category_fields()
    basis = ctx.agreement.lawful_basis
    if special and (basis is None or basis.article9 is None):
        yield (
            f"Special-category data is shared ({', '.join(special)}) but no UK GDPR Article 9 "
            "condition is given: add lawful_basis.article9."
        )


@register_rule("opt-out-mismatch", E, "National data opt-out applied where the law requires")
def opt_out_mismatch(ctx: LintContext) -> Iterator[str]:
    purpose = ctx.purposes.get(ctx.agreement.purpose_code or "")
    if purpose is not None and purpose.opt_out_applies and not ctx.agreement.national_data_opt_out:
        yield (
            f"The purpose {purpose.code!r} is planning or research, where the national data "
            "opt-out applies, but the agreement sets national_data_opt_out: false."
        )


# -- parties ---------------------------------------------------------------------------------


@register_rule("unknown-member", E, "Every party is a member of the trust")
def unknown_member(ctx: LintContext) -> Iterator[str]:
    if ctx.members is None:
        return
    named = set(ctx.agreement.controllers) | set(ctx.agreement.recipients)
    for name in sorted(named - ctx.members):
        yield f"{name!r} is not a member of this trust: add it first with `accord member add`."


@register_rule("controllers-missing", E, "The agreement has controllers and recipients")
def controllers_missing(ctx: LintContext) -> Iterator[str]:
    if not ctx.agreement.controllers:
        yield "No controllers are named: parties.controllers lists who must sign."
    if not ctx.agreement.recipients:
        yield "No recipients are named: parties.recipients lists who receives answers."


@register_rule("recipient-not-party", E, "Every recipient is a party that signs")
def recipient_not_party(ctx: LintContext) -> Iterator[str]:
    controllers = set(ctx.agreement.controllers)
    for name in ctx.agreement.recipients:
        if name not in controllers:
            yield (
                f"{name} receives data but is not a party to the agreement: add it to "
                "parties.controllers so that it signs."
            )
    for share in ctx.agreement.datasets:
        for name in share.recipients or []:
            if name not in ctx.agreement.recipients:
                yield f"The share of {share.dataset} names {name}, which is not a recipient."


@register_rule("provider-not-party", E, "Every data provider is a party that signs")
def provider_not_party(ctx: LintContext) -> Iterator[str]:
    controllers = set(ctx.agreement.controllers)
    for provider in sorted({s.provider for s in ctx.agreement.datasets} - controllers):
        yield (
            f"{provider} provides data but is not a party to the agreement: add it to "
            "parties.controllers so that it signs."
        )


@register_rule("access-roles-broad", W, "Only analysts and data owners query")
def access_roles_broad(ctx: LintContext) -> Iterator[str]:
    for role in ctx.agreement.access_roles:
        if role in ("ig-lead", "admin"):
            yield (
                f"The role {role} may query under this agreement; it usually needs no access "
                "to the data itself."
            )


# -- datasets and fields ---------------------------------------------------------------------


@register_rule("no-datasets", E, "Something is shared")
def no_datasets(ctx: LintContext) -> Iterator[str]:
    if not ctx.agreement.datasets:
        yield "The agreement shares no dataset: list at least one under datasets."


@register_rule("unknown-dataset", E, "Every dataset is in the catalogue")
def unknown_dataset(ctx: LintContext) -> Iterator[str]:
    for share in ctx.agreement.datasets:
        if ctx.contract(share.dataset) is None:
            yield f"The dataset {share.dataset} is not in the catalogue (misspelt, or not added)."


@register_rule("unknown-field", E, "Every field exists in its dataset")
def unknown_field(ctx: LintContext) -> Iterator[str]:
    for share in ctx.agreement.datasets:
        contract = ctx.contract(share.dataset)
        if contract is None:
            continue
        for name in share.fields:
            if ctx.spec(share.dataset, name) is None:
                yield f"{share.dataset} has no field {name!r}."
    outputs = ctx.agreement.outputs
    for ref in [*outputs.record_level.fields, *outputs.aggregate.fields]:
        dataset, _, name = ref.rpartition(".")
        if ctx.contract(dataset) is not None and ctx.spec(dataset, name) is None:
            yield f"The output field {ref} does not exist: {dataset} has no field {name!r}."


@register_rule("output-field-not-shared", E, "Outputs use only shared fields")
def output_field_not_shared(ctx: LintContext) -> Iterator[str]:
    shared = ctx.agreement.shared_fields()
    outputs = ctx.agreement.outputs
    for kind, refs in (
        ("record-level", outputs.record_level.fields),
        ("aggregate", outputs.aggregate.fields),
    ):
        for ref in refs:
            dataset, _, name = ref.rpartition(".")
            if name not in shared.get(dataset, set()):
                yield f"The {kind} output names {ref}, which the agreement does not share."


@register_rule("duplicate-share", E, "A dataset is shared once per recipient")
def duplicate_share(ctx: LintContext) -> Iterator[str]:
    for recipient in ctx.agreement.recipients:
        seen: set[str] = set()
        for share in ctx.agreement.shares_for(recipient):
            if share.dataset in seen:
                yield f"{share.dataset} is shared with {recipient} twice: merge the two entries."
            seen.add(share.dataset)


@register_rule("row-scope-invalid", E, "Row scopes are SQL predicates that parse")
def row_scope_invalid(ctx: LintContext) -> Iterator[str]:
    for share in ctx.agreement.datasets:
        if share.row_scope is None:
            continue
        problem = _scope_problem(share.row_scope)
        if problem:
            yield f"The row scope of {share.dataset} ({share.row_scope!r}) {problem}."


@register_rule("row-scope-unknown-column", E, "Row scopes use the dataset's own columns")
def row_scope_unknown_column(ctx: LintContext) -> Iterator[str]:
    for share in ctx.agreement.datasets:
        contract = ctx.contract(share.dataset)
        if share.row_scope is None or contract is None or _scope_problem(share.row_scope):
            continue
        known = set(contract.field_names())
        for column in sorted(scope_columns(share.row_scope) - known):
            yield f"The row scope of {share.dataset} uses {column!r}, which is not a field of it."


@register_rule("unused-field", W, "Every shared field is used (data minimisation)")
def unused_field(ctx: LintContext) -> Iterator[str]:
    agreement = ctx.agreement
    outputs: set[str] = set()
    if agreement.outputs.record_level.permitted:
        outputs |= set(agreement.outputs.record_level.fields)
    if agreement.outputs.aggregate.permitted:
        outputs |= set(agreement.outputs.aggregate.fields)
    roles = set(agreement.linkage.identifier_roles) if agreement.linkage.permitted else set()
    for ref, spec in ctx.shared_specs():
        used_in_linkage = spec.role is not None and spec.role.value in roles
        if f"{ref}.{spec.name}" not in outputs and not used_in_linkage:
            yield (
                f"{ref}.{spec.name} is shared but no permitted output or linkage step uses it: "
                "share only what the purpose needs."
            )


# -- linkage and outputs ---------------------------------------------------------------------


@register_rule("linkage-identifier-not-shared", E, "Linkage uses only shared identifiers")
def linkage_identifier_not_shared(ctx: LintContext) -> Iterator[str]:
    linkage = ctx.agreement.linkage
    if not linkage.permitted:
        return
    if not linkage.identifier_roles:
        yield "Linkage is permitted but no identifier roles are listed in linkage.identifier_roles."
    shared_roles = {spec.role.value for _, spec in ctx.shared_specs() if spec.role is not None}
    for role in linkage.identifier_roles:
        if role not in shared_roles:
            yield f"Linkage compares {role}, but no shared field carries that identifier."


@register_rule(
    "record-level-special-category", E, "Record-level special-category output has a stated need"
)
def record_level_special_category(ctx: LintContext) -> Iterator[str]:
    record = ctx.agreement.outputs.record_level
    if not record.permitted or (record.special_category_need or "").strip():
        return
    for ref in record.fields:
        dataset, _, name = ref.rpartition(".")
        spec = ctx.spec(dataset, name)
        if spec is not None and spec.category is Category.special_category:
            yield (
                f"{ref} is special-category data and may leave record by record, but the "
                "agreement does not say why: add outputs.record_level.special_category_need."
            )


@register_rule("dpia-missing", E, "A DPIA covers linkage of special-category data")
def dpia_missing(ctx: LintContext) -> Iterator[str]:
    if (
        ctx.agreement.linkage.permitted
        and ctx.special_category_fields()
        and not (ctx.agreement.dpia_reference or "").strip()
    ):
        yield (
            "Special-category data is linked, which needs a data protection impact assessment: "
            "add dpia_reference."
        )


@register_rule("onward-sharing", W, "No onward sharing")
def onward_sharing(ctx: LintContext) -> Iterator[str]:
    if ctx.agreement.onward_sharing.permitted:
        yield "Recipients may share the data onwards: check this is intended and say on what terms."


# -- time ------------------------------------------------------------------------------------


@register_rule("retention-missing", E, "Retention period is stated")
def retention_missing(ctx: LintContext) -> Iterator[str]:
    if ctx.agreement.retention_days is None:
        yield "The agreement does not say how long recipients keep the data: add retention_days."


@register_rule("retention-too-long", E, "Retention is within the trust's maximum")
def retention_too_long(ctx: LintContext) -> Iterator[str]:
    days = ctx.agreement.retention_days
    if days is not None and days > ctx.max_retention_days:
        yield (
            f"Data may be kept for {days} days, longer than this trust's maximum of "
            f"{ctx.max_retention_days} days."
        )


@register_rule("expiry-missing", E, "The agreement has a start and an expiry date")
def expiry_missing(ctx: LintContext) -> Iterator[str]:
    if ctx.agreement.expires is None:
        yield "The agreement never expires: add an expires date."
    if ctx.agreement.valid_from is None:
        yield "The agreement has no start date: add valid_from."


@register_rule("dates-inverted", E, "Expiry comes after the start")
def dates_inverted(ctx: LintContext) -> Iterator[str]:
    start, end = ctx.agreement.valid_from, ctx.agreement.expires
    if start and end and end < start:
        yield f"The agreement expires ({end}) before it starts ({start})."


@register_rule("review-after-expiry", W, "Review falls before expiry")
def review_after_expiry(ctx: LintContext) -> Iterator[str]:
    review, end = ctx.agreement.review_date, ctx.agreement.expires
    if review is None:
        yield "No review date is set: add review_date."
    elif end and review > end:
        yield f"The review date ({review}) is after the agreement expires ({end})."


@register_rule("breach-contact-missing", W, "A breach contact is named")
def breach_contact_missing(ctx: LintContext) -> Iterator[str]:
    if not (ctx.agreement.breach_contact or "").strip():
        yield "No one is named to contact about a data breach: add breach_contact."


# -- row scope helpers -----------------------------------------------------------------------

_FORBIDDEN = (exp.Select, exp.Subquery, exp.Query, exp.Command, exp.Star)


def _parse_scope(scope: str) -> exp.Expression:
    statements = sqlglot.parse(f"SELECT 1 FROM t WHERE {scope}", read="duckdb")
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        raise ValueError("is more than one SQL statement")
    where = statements[0].args.get("where")
    if where is None:
        raise ValueError("is empty")
    return where.this


def _scope_problem(scope: str) -> str | None:
    if not scope.strip():
        return "is empty"
    try:
        predicate = _parse_scope(scope)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        return f"does not parse as SQL ({first})"
    except ValueError as exc:
        return str(exc)
    if any(isinstance(node, _FORBIDDEN) for node in predicate.walk()):
        return "may not contain a sub-query or *; use a plain condition on the dataset's columns"
    return None


def scope_columns(scope: str) -> set[str]:
    """The column names a row scope reads."""
    return {col.name for col in _parse_scope(scope).find_all(exp.Column)}
