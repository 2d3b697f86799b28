"""An agreement in plain English, for the people who sign it and the public register."""

from __future__ import annotations

from datetime import timedelta

from accord.agreements.model import Agreement
from accord.agreements.purposes import get_purpose
from accord.agreements.status import AgreementStatus

ARTICLE6_WORDS = {
    "consent": "the people concerned have consented (UK GDPR Article 6(1)(a))",
    "contract": "it is needed for a contract with the person (Article 6(1)(b))",
    "legal-obligation": "the law requires it (Article 6(1)(c))",
    "vital-interests": "it protects someone's life (Article 6(1)(d))",
    "public-task": "it is part of the controllers' public tasks (Article 6(1)(e))",
    "legitimate-interests": "legitimate interests (Article 6(1)(f))",
}
ARTICLE9_WORDS = {
    "explicit-consent": "explicit consent (Article 9(2)(a))",
    "employment-social-security": "employment and social security law (Article 9(2)(b))",
    "vital-interests": "protecting someone's life (Article 9(2)(c))",
    "substantial-public-interest": "substantial public interest (Article 9(2)(g))",
    "health-social-care": "health or social care (Article 9(2)(h))",
    "public-health": "public health (Article 9(2)(i))",
    "archiving-research-statistics": "archiving, research or statistics (Article 9(2)(j))",
}
STATE_WORDS = {
    "awaiting-signatures": "waiting for signatures",
    "scheduled": "signed; starts on its start date",
    "active": "ACTIVE",
    "expired": "expired",
    "revoked": "revoked",
}


def _join(items: list[str]) -> str:
    if not items:
        return "nobody"
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plain_english(agreement: Agreement) -> list[str]:
    """Sentences saying who shares what with whom, why, under which law, and until when."""
    lines = [f"{agreement.title} ({agreement.id})", ""]
    purpose = get_purpose(agreement.purpose_code)
    why = agreement.purpose.description if agreement.purpose else None
    lines.append(f"Why: {why or 'no purpose given'}")
    if purpose is not None:
        kind = (
            "individual care or support" if not purpose.opt_out_applies else "planning or research"
        )
        lines.append(f"     (purpose {purpose.code}: {kind})")
    lines.append("")
    lines.append("Who shares what with whom:")
    for share in agreement.datasets:
        to = share.recipients if share.recipients is not None else agreement.recipients
        scope = f", only rows where {share.row_scope}" if share.row_scope else ""
        lines.append(
            f"  - {share.provider} shares {share.dataset} ({', '.join(share.fields)}) "
            f"with {_join(to)}{scope}."
        )
    if agreement.linkage.permitted:
        lines.append(
            f"  - The trust may link these records on {_join(agreement.linkage.identifier_roles)}."
        )
    record = agreement.outputs.record_level
    if record.permitted:
        who = f" (to users with role {_join(record.roles)})" if record.roles else ""
        lines.append(f"  - Record-level answers may contain only: {_join(record.fields)}{who}.")
    else:
        lines.append("  - No record-level answers: only aggregate tables leave the trust.")
    if agreement.outputs.aggregate.permitted:
        lines.append(
            f"  - Aggregate tables have counts under {agreement.outputs.aggregate.min_cell_size} "
            "suppressed."
        )
    lines.append(
        "  - People who opted out (national data opt-out) are "
        + ("left out." if agreement.national_data_opt_out else "included: this is individual care.")
    )
    lines.append(
        "  - Onward sharing is "
        + ("permitted." if agreement.onward_sharing.permitted else "not permitted.")
    )
    lines.append("")
    basis = agreement.lawful_basis
    law = ARTICLE6_WORDS.get(basis.article6.value, "") if basis and basis.article6 else "not given"
    lines.append(f"Lawful basis: {law}.")
    if basis and basis.article9:
        lines.append(f"Special-category data: {ARTICLE9_WORDS[basis.article9.value]}.")
    for act in basis.legislation if basis else []:
        lines.append(f"Law relied on: {act}")
    lines.append("")
    lines.append(
        f"When: from {agreement.valid_from or '(no start date)'} until "
        f"{agreement.expires or '(no expiry)'}; recipients keep data for at most "
        f"{agreement.retention_days or '(unstated)'} days; review by "
        f"{agreement.review_date or '(no review date)'}."
    )
    if agreement.dpia_reference:
        lines.append(f"DPIA: {agreement.dpia_reference}")
    lines.append(f"Breach contact: {agreement.breach_contact or '(none)'}")
    return lines


def status_lines(status: AgreementStatus) -> list[str]:
    """The signature state and the time from proposal to active."""
    lines = [f"Status: {STATE_WORDS.get(status.state, status.state)}"]
    if status.revoked_reason:
        lines.append(f"Revoked because: {status.revoked_reason}")
    if status.in_force_version is not None and status.in_force_version != status.latest_version:
        lines.append(
            f"Version {status.in_force_version} is in force; version {status.latest_version} "
            "is waiting for signatures."
        )
    lines.append(f"Signatures on version {status.latest_version}:")
    for sig in status.signatures:
        mark = "signed" if sig.valid else "SIGNATURE DOES NOT VERIFY"
        lines.append(
            f"  - {sig.member}: {mark} by {sig.signer} at {sig.signed_at:%Y-%m-%d %H:%M} UTC"
        )
    for member in status.missing_signatures:
        if all(s.member != member for s in status.signatures):
            lines.append(f"  - {member}: not signed yet")
    for problem in status.problems:
        lines.append(f"Problem: {problem}")
    lines.append(f"Proposed: {status.proposed_at:%Y-%m-%d %H:%M} UTC")
    if status.activated_at is not None and status.time_to_active is not None:
        lines.append(
            f"Active since: {status.activated_at:%Y-%m-%d %H:%M} UTC "
            f"({humanise(status.time_to_active)} after it was first proposed)"
        )
    return lines


def humanise(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} days {hours} hours"
    if hours:
        return f"{hours} hours {minutes} minutes"
    if minutes:
        return f"{minutes} minutes {seconds} seconds"
    return f"{seconds} seconds"
