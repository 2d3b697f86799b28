"""Access decisions with Cedar: default deny, deny wins, policies validated against a schema.

Each agreement version in force compiles to two generated Cedar policies per recipient (one to
use the agreement, one for the fields it shares); trust-wide rules (no access after expiry, none
under a revoked agreement, opted-out people excluded for planning) are Cedar policies too, in
``policies/trust.cedar``. Every decision carries the ids of the policies that decided it.

The engine is pure: it is built from :class:`AgreementState` values, so it can be tested and
benchmarked without a database; the lifecycle service builds and caches it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cedarpy

from accord.agreements.model import Agreement
from accord.agreements.purposes import get_purpose
from accord.errors import IntegrityError

POLICY_DIR = Path(__file__).with_name("policies")
SCHEMA_TEXT = (POLICY_DIR / "accord.cedarschema").read_text(encoding="utf-8")
# Files of trust-wide policies; a trust may append its own (same schema, @id and @reason).
TRUST_POLICY_FILES: list[Path] = [POLICY_DIR / "trust.cedar"]
DEFAULT_DENY = "accord/default-deny"

ACTION_FIELD = 'Accord::Action::"read-field"'
ACTION_USE = 'Accord::Action::"use-agreement"'
ACTION_OPT_OUT = 'Accord::Action::"include-opted-out"'


@dataclass(frozen=True)
class Decision:
    """The answer to "may this user see these fields under this agreement, for this purpose?"."""

    allowed: bool
    reasons: list[str]
    policy_ids: list[str]
    agreement_version: int | None = None


@dataclass(frozen=True)
class Principal:
    email: str
    member: str
    roles: tuple[str, ...]
    active: bool = True


@dataclass(frozen=True)
class AgreementState:
    """What the engine knows of one agreement.

    ``version``/``agreement`` are the version in force (every controller's signature verified),
    or the latest version with ``signed=False`` when none is in force.
    """

    id: str
    version: int
    agreement: Agreement
    signed: bool
    revoked: bool = False


def _escape(text: str) -> str:
    return json.dumps(text)  # a Cedar string literal has JSON's escapes


def _epoch(moment: datetime | None, default: int) -> int:
    return int(moment.timestamp()) if moment is not None else default


def grant_id(agreement_id: str, version: int, recipient: str) -> str:
    return f"{agreement_id}/v{version}/{recipient}"


def opt_out_applies(agreement: Agreement) -> bool:
    """The opt-out applies if the agreement says so or its purpose is planning/research."""
    purpose = get_purpose(agreement.purpose_code)
    return agreement.national_data_opt_out or bool(purpose and purpose.opt_out_applies)


def compile_agreement(state: AgreementState) -> str:
    """The Cedar policies an agreement version in force compiles to (none if not signed).

    Examples:
        >>> print(compile_agreement(state))  # doctest: +SKIP
        @id("agreement/fsm-2026/v1/islington/use")
        permit (principal in Accord::Member::"islington", ...
    """
    if not state.signed:
        return ""
    agreement = state.agreement
    roles = ", ".join(_escape(r) for r in agreement.access_roles)
    purpose = _escape(agreement.purpose_code or "")
    aid = _escape(state.id)
    out: list[str] = []
    for recipient in agreement.recipients:
        base = f"agreement/{state.id}/v{state.version}/{recipient}"
        member = f"Accord::Member::{_escape(recipient)}"
        out.append(
            f"@id({_escape(base + '/use')})\n"
            f"permit (\n  principal in {member},\n"
            f"  action in [{ACTION_USE}, {ACTION_OPT_OUT}],\n"
            f"  resource == Accord::Agreement::{aid}\n)\n"
            f"when {{ context.purpose == {purpose} && principal.roles.containsAny([{roles}]) }};\n"
        )
        if agreement.shares_for(recipient):
            grant = _escape(grant_id(state.id, state.version, recipient))
            out.append(
                f"@id({_escape(base + '/fields')})\n"
                f"permit (\n  principal in {member},\n  action == {ACTION_FIELD},\n"
                f"  resource in Accord::Grant::{grant}\n)\n"
                f"when {{ context.agreement == Accord::Agreement::{aid} && "
                f"context.purpose == {purpose} && principal.roles.containsAny([{roles}]) }};\n"
            )
    return "\n".join(out)


def _uid(kind: str, ident: str) -> dict[str, str]:
    return {"type": f"Accord::{kind}", "id": ident}


class PolicyEngine:
    """Compiled policies and entities for a set of agreements; answers decisions.

    Examples:
        >>> engine = PolicyEngine(states)  # doctest: +SKIP
        >>> fields = {"camden/school_census": {"given_name"}}
        >>> engine.decide(principal, "fsm-2026", "fsm-support", fields)  # doctest: +SKIP
        Decision(allowed=True, reasons=[...], policy_ids=['agreement/fsm-2026/v1/islington/fields'])
    """

    schema = cedarpy.Schema.from_str(SCHEMA_TEXT)

    def __init__(self, states: Iterable[AgreementState], extra_policies: str = "") -> None:
        self.states: dict[str, AgreementState] = {s.id: s for s in states}
        trust_text = "\n".join(p.read_text(encoding="utf-8") for p in TRUST_POLICY_FILES)
        generated = "\n".join(compile_agreement(s) for s in self.states.values())
        self.policy_text = "\n".join([trust_text, extra_policies, generated])
        result = cedarpy.validate_policies(self.policy_text, self.schema)
        if not result.validation_passed:
            raise IntegrityError(
                "The trust's access policies do not validate against the Cedar schema",
                details=[str(e) for e in result.errors],
            )
        self._shared_text = "\n".join([trust_text, extra_policies])
        self.reasons = _reasons_by_id(self.policy_text)
        self._parts: dict[str, _Partition] = {}

    def _part(self, agreement_id: str) -> _Partition:
        # A decision concerns one agreement, and every generated policy names its own agreement,
        # so evaluating only the trust-wide policies and that agreement's own gives the same
        # answer as the whole set — at a cost that does not grow with the number of agreements.
        part = self._parts.get(agreement_id)
        if part is None:
            state = self.states[agreement_id]
            text = self._shared_text + "\n" + compile_agreement(state)
            part = _Partition(
                cedarpy.PolicySet.from_str(text),
                cedarpy.Entities.from_json_str(json.dumps(_entities([state])), self.schema),
            )
            self._parts[agreement_id] = part
        return part

    # -- decisions -------------------------------------------------------------------------

    def _entities_with(self, agreement_id: str, principal: Principal) -> cedarpy.Entities:
        # Adding the user copies the entity store; keep the copy per principal (its roles and
        # active flag are part of the key, so a changed user gets a fresh copy).
        part = self._part(agreement_id)
        cached = part.with_user.get(principal)
        if cached is None:
            user = {
                "uid": _uid("User", principal.email),
                "attrs": {"roles": list(principal.roles), "active": principal.active},
                "parents": [_uid("Member", principal.member)],
            }
            cached = part.entities.with_added_json_str(json.dumps([user]), self.schema)
            if len(part.with_user) >= 256:
                part.with_user.pop(next(iter(part.with_user)))
            part.with_user[principal] = cached
        return cached

    def _requests(
        self,
        principal: Principal,
        agreement_id: str,
        purpose: str,
        field_refs: list[str],
        now: int,
        opt_out: bool = False,
    ) -> list[dict[str, Any]]:
        context = {
            "agreement": {"__entity": _uid("Agreement", agreement_id)},
            "purpose": purpose,
            "now": now,
        }
        who = _uid("User", principal.email)
        agreement = _uid("Agreement", agreement_id)
        requests = [
            {"principal": who, "action": ACTION_USE, "resource": agreement, "context": context}
        ]
        if opt_out:
            requests.append(
                {
                    "principal": who,
                    "action": ACTION_OPT_OUT,
                    "resource": agreement,
                    "context": context,
                }
            )
        requests.extend(
            {
                "principal": who,
                "action": ACTION_FIELD,
                "resource": _uid("Field", f),
                "context": context,
            }
            for f in field_refs
        )
        return requests

    def evaluate(
        self,
        principal: Principal,
        agreement_id: str,
        purpose: str,
        fields: Mapping[str, Iterable[str]],
        at: datetime | None = None,
        *,
        opt_out: bool = False,
    ) -> tuple[Decision, dict[str, bool], tuple[bool, list[str]] | None]:
        """Decide; also return the decision per field and, if asked, whether opted-out people
        may be included (with the ids of the policies that decided that)."""
        state = self.states.get(agreement_id)
        if state is None:
            return (
                Decision(
                    False, [f"There is no agreement called {agreement_id!r}."], [DEFAULT_DENY]
                ),
                {},
                None,
            )
        refs = sorted({f"{ds}.{name}" for ds, names in fields.items() for name in names})
        now = int((at or datetime.now(UTC)).timestamp())
        entities = self._entities_with(agreement_id, principal)
        requests = self._requests(principal, agreement_id, purpose, refs, now, opt_out)
        # Policies and entities were validated against the schema when built; requests are made
        # here to the schema's shape, so the per-call validation is skipped for speed.
        results = cedarpy.is_authorized_batch(requests, self._part(agreement_id).policies, entities)
        use, rest = results[0], results[1:]
        opt_result = rest.pop(0) if opt_out else None
        per_field = {ref: r.allowed for ref, r in zip(refs, rest, strict=True)}

        reasons: list[str] = []
        ids = _deciding_ids([use, *rest])
        for result in [use, *rest]:
            for error in result.diagnostics.errors:
                reasons.append(f"The policy check failed: {error}")
        forbids = [self.reasons[i] for i in ids if i.startswith("trust/") and i in self.reasons]
        allowed = use.allowed and all(per_field.values())
        if forbids and not use.allowed:
            reasons.extend(forbids)
        elif not use.allowed:
            reasons.append(self._why_not(state, principal))
        else:
            for ref, ok in per_field.items():
                if not ok:
                    reasons.append(
                        f"Agreement {agreement_id} does not share {ref} with {principal.member}."
                    )
        if allowed:
            reasons.append(
                f"Agreement {agreement_id} (version {state.version}) shares these fields with "
                f"{principal.member} for {purpose}."
            )
        elif not any(i.startswith("trust/") for i in ids):
            ids = [i for i in ids if not i.endswith("/use")] + [DEFAULT_DENY]
        decision = Decision(allowed, reasons, ids, state.version if state.signed else None)
        opted = (opt_result.allowed, _deciding_ids([opt_result])) if opt_result else None
        return decision, per_field, opted

    def decide(
        self,
        principal: Principal,
        agreement_id: str,
        purpose: str,
        fields: Mapping[str, Iterable[str]],
        at: datetime | None = None,
    ) -> Decision:
        return self.evaluate(principal, agreement_id, purpose, fields, at)[0]

    @staticmethod
    def _why_not(state: AgreementState, principal: Principal) -> str:
        agreement = state.agreement
        if principal.member not in agreement.recipients:
            return (
                f"{principal.member} is not a recipient under agreement {state.id} "
                f"(recipients: {', '.join(agreement.recipients) or 'none'})."
            )
        if not set(principal.roles) & set(agreement.access_roles):
            return (
                f"Your roles ({', '.join(principal.roles)}) may not query under agreement "
                f"{state.id}; it allows {', '.join(agreement.access_roles)}."
            )
        return f"No policy of agreement {state.id} permits this request."


def _deciding_ids(results: Iterable[cedarpy.AuthzResult]) -> list[str]:
    ids: list[str] = []
    for result in results:
        for pid in result.diagnostics.reasons:
            ident = result.diagnostics.id_annotations_by_reason.get(pid, pid)
            if ident not in ids:
                ids.append(ident)
    return ids


def _reasons_by_id(policy_text: str) -> dict[str, str]:
    parsed = json.loads(cedarpy.policies_to_json_str(policy_text))
    out: dict[str, str] = {}
    for policy in parsed.get("staticPolicies", {}).values():
        notes = policy.get("annotations", {})
        if "id" in notes:
            out[notes["id"]] = notes.get("reason", notes["id"])
    return out


@dataclass
class _Partition:
    policies: cedarpy.PolicySet
    entities: cedarpy.Entities
    with_user: dict[Principal, cedarpy.Entities] = field(default_factory=dict)


def _entities(states: Iterable[AgreementState]) -> list[dict[str, Any]]:
    members: set[str] = set()
    fields: dict[str, list[dict[str, str]]] = {}
    grants: list[dict[str, Any]] = []
    agreements: list[dict[str, Any]] = []
    for state in states:
        a = state.agreement
        members.update(a.controllers, a.recipients)
        agreements.append(
            {
                "uid": _uid("Agreement", state.id),
                "attrs": {
                    "version": state.version,
                    "purpose": a.purpose_code or "",
                    "signed": state.signed,
                    "revoked": state.revoked,
                    "valid_from": _epoch(a.starts_at(), 2**62),
                    "expires": _epoch(a.ends_at(), 0),
                    "opt_out_applies": opt_out_applies(a),
                },
                "parents": [],
            }
        )
        if not state.signed:
            continue
        for recipient in a.recipients:
            gid = grant_id(state.id, state.version, recipient)
            grants.append({"uid": _uid("Grant", gid), "attrs": {}, "parents": []})
            for share in a.shares_for(recipient):
                for name in share.fields:
                    fields.setdefault(f"{share.dataset}.{name}", []).append(_uid("Grant", gid))
    return [
        *({"uid": _uid("Member", m), "attrs": {}, "parents": []} for m in sorted(members)),
        *grants,
        *agreements,
        *({"uid": _uid("Field", f), "attrs": {}, "parents": p} for f, p in fields.items()),
    ]
