"""Export an agreement as a W3C ODRL 2.2 policy (an ``odrl:Agreement``) in JSON-LD.

Shares become permissions (action ``use`` on each dataset, with its fields and row scope as
refinements), constraints carry the purpose (its W3C DPV id), the dates and the minimum cell
size; duties carry deletion after the retention period and breach reporting; onward sharing and
record-level output, where not allowed, become prohibitions. Lawful bases carry DPV GDPR ids.
"""

from __future__ import annotations

from typing import Any

from accord.agreements.model import Agreement
from accord.agreements.purposes import get_purpose

CONTEXT: list[Any] = [
    "http://www.w3.org/ns/odrl.jsonld",
    {
        "dpv": "https://w3id.org/dpv#",
        "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
        "dct": "http://purl.org/dc/terms/",
        "accord": "https://accord.example/ns#",
    },
]
BASE = "https://accord.example/agreements/"

# UK GDPR keeps the EU GDPR's article numbering, so the DPV GDPR legal-basis ids apply.
ARTICLE6 = {
    "consent": "eu-gdpr:A6-1-a",
    "contract": "eu-gdpr:A6-1-b",
    "legal-obligation": "eu-gdpr:A6-1-c",
    "vital-interests": "eu-gdpr:A6-1-d",
    "public-task": "eu-gdpr:A6-1-e",
    "legitimate-interests": "eu-gdpr:A6-1-f",
}
ARTICLE9 = {
    "explicit-consent": "eu-gdpr:A9-2-a",
    "employment-social-security": "eu-gdpr:A9-2-b",
    "vital-interests": "eu-gdpr:A9-2-c",
    "substantial-public-interest": "eu-gdpr:A9-2-g",
    "health-social-care": "eu-gdpr:A9-2-h",
    "public-health": "eu-gdpr:A9-2-i",
    "archiving-research-statistics": "eu-gdpr:A9-2-j",
}


def _party(member: str) -> str:
    return f"{BASE}members/{member}"


def _constraint(left: str, op: str, right: Any) -> dict[str, Any]:
    return {"leftOperand": left, "operator": op, "rightOperand": right}


def to_odrl(agreement: Agreement, version: int) -> dict[str, Any]:
    """The agreement as an ODRL JSON-LD document.

    Examples:
        >>> doc = to_odrl(agreement, 1)  # doctest: +SKIP
        >>> doc["@type"]  # doctest: +SKIP
        'Agreement'
    """
    uid = f"{BASE}{agreement.id}/v{version}"
    purpose = get_purpose(agreement.purpose_code)
    common: list[dict[str, Any]] = []
    if purpose is not None:
        common.append(_constraint("purpose", "eq", {"@id": purpose.dpv}))
    if agreement.valid_from:
        common.append(
            _constraint(
                "dateTime", "gteq", {"@value": str(agreement.valid_from), "@type": "xsd:date"}
            )
        )
    if agreement.expires:
        common.append(
            _constraint("dateTime", "lteq", {"@value": str(agreement.expires), "@type": "xsd:date"})
        )
    duties: list[dict[str, Any]] = []
    if agreement.retention_days:
        duties.append(
            {
                "action": "delete",
                "constraint": [_constraint("elapsedTime", "lteq", f"P{agreement.retention_days}D")],
            }
        )
    if agreement.breach_contact:
        duties.append({"action": "inform", "informedParty": f"mailto:{agreement.breach_contact}"})

    permissions = []
    for share in agreement.datasets:
        recipients = share.recipients if share.recipients is not None else agreement.recipients
        target: dict[str, Any] = {
            "@type": "AssetCollection",
            "uid": f"{BASE}datasets/{share.dataset}",
            "accord:fields": share.fields,
        }
        if share.row_scope:
            target["refinement"] = [_constraint("accord:rowScope", "eq", share.row_scope)]
        for recipient in recipients:
            permissions.append(
                {
                    "target": target,
                    "assigner": _party(share.provider),
                    "assignee": _party(recipient),
                    "action": "use",
                    "constraint": common,
                    "duty": duties,
                }
            )
    outputs = agreement.outputs
    if outputs.aggregate.permitted:
        for recipient in agreement.recipients:
            permissions.append(
                {
                    "target": f"{uid}#aggregate-outputs",
                    "assignee": _party(recipient),
                    "action": "aggregate",
                    "constraint": [
                        *common,
                        _constraint("count", "gteq", outputs.aggregate.min_cell_size),
                    ],
                }
            )
    prohibitions = []
    if not agreement.onward_sharing.permitted:
        prohibitions.extend(
            {"target": f"{uid}#shared-data", "assignee": _party(r), "action": "distribute"}
            for r in agreement.recipients
        )
    if outputs.record_level.permitted:
        permissions.extend(
            {
                "target": {
                    "@type": "AssetCollection",
                    "uid": f"{uid}#record-level-output",
                    "accord:fields": outputs.record_level.fields,
                },
                "assignee": _party(r),
                "action": "reproduce",
                "constraint": common,
            }
            for r in agreement.recipients
        )
    else:
        prohibitions.extend(
            {"target": f"{uid}#record-level-output", "assignee": _party(r), "action": "reproduce"}
            for r in agreement.recipients
        )
    basis = agreement.lawful_basis
    legal = []
    if basis and basis.article6:
        legal.append({"@id": ARTICLE6[basis.article6.value]})
    if basis and basis.article9:
        legal.append({"@id": ARTICLE9[basis.article9.value]})
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "Agreement",
        "uid": uid,
        "profile": "https://accord.example/odrl-profile",
        "dct:title": agreement.title,
        "dct:description": agreement.purpose.description if agreement.purpose else None,
        "assigner": [_party(c) for c in agreement.controllers],
        "dpv:hasPurpose": {"@id": purpose.dpv} if purpose else None,
        "dpv:hasLegalBasis": legal,
        "accord:legislation": basis.legislation if basis else [],
        "accord:nationalDataOptOut": agreement.national_data_opt_out,
        "accord:dpiaReference": agreement.dpia_reference,
        "permission": permissions,
        "prohibition": prohibitions,
    }
    return {k: v for k, v in doc.items() if v is not None}
