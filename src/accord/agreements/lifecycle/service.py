"""``trust.agreements``: propose, sign, activate, revoke — and the one access decision.

Status is derived, never typed in: an agreement version is in force once every controller's
signature over its canonical JSON verifies with that controller's public key; it is active between
``valid_from`` and the end of its ``expires`` day unless the agreement is revoked. Transitions are
stored as events when they happen (``refresh`` records activations and expiries that time brought).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from accord.agreements import models_db  # noqa: F401 - registers the tables
from accord.agreements.cedar import AgreementState, Decision, PolicyEngine, Principal
from accord.agreements.events import (
    LIFECYCLE_KINDS,
    AccessDecided,
    AgreementActivated,
    AgreementExpired,
    AgreementProposed,
    AgreementRevoked,
    AgreementSigned,
)
from accord.agreements.lint import LintContext, LintReport, lint
from accord.agreements.model import Agreement, load_agreement, parse_agreement
from accord.agreements.models_db import AgreementRow, AgreementVersionRow, SignatureRow
from accord.agreements.signing import DetachedSignature, sign_agreement, verify
from accord.agreements.status import AgreementStatus, HistoryEntry, SignatureInfo, VersionInfo
from accord.catalogue.contract import Contract, Role
from accord.core.crypto.keys import load_private_key
from accord.core.store.models import DatasetRow, EventRow, MemberRow, UserRow
from accord.errors import (
    AlreadyExists,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from accord.policy import roles
from accord.policy.grant import AccessGrant, DatasetGrant, OutputRules

if TYPE_CHECKING:
    from accord.catalogue.models import User
    from accord.trust import Trust


def _now(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if at.tzinfo is None:
        raise InvalidInput("Give times with a time zone (UTC)")
    return at


class Agreements:
    """The agreements of one trust (``trust.agreements``).

    Examples:
        >>> ig = trust.catalogue.get_user("ig@camden.gov.uk")  # doctest: +SKIP
        >>> v = trust.agreements.propose("fsm.yaml", actor=ig)  # doctest: +SKIP
        >>> trust.agreements.sign(v.agreement, "ig@camden.gov.uk")  # doctest: +SKIP
        >>> trust.agreements.sign(v.agreement, "ig@islington.gov.uk")  # doctest: +SKIP
        >>> fields = {"camden/school_census": {"given_name"}}
        >>> d = trust.agreements.decide("ana@islington.gov.uk", v.agreement, "fsm-support", fields)
        >>> d.allowed  # doctest: +SKIP
        True
    """

    def __init__(self, trust: Trust) -> None:
        self.trust = trust
        self._engine_key: Any = None
        self._engine: PolicyEngine | None = None

    # -- checking --------------------------------------------------------------------------

    def lint_context(self, agreement: Agreement) -> LintContext:
        """The catalogue's view of the datasets and members an agreement names."""
        refs = {share.dataset for share in agreement.datasets}
        refs |= {r.rpartition(".")[0] for r in agreement.outputs.record_level.fields}
        refs |= {r.rpartition(".")[0] for r in agreement.outputs.aggregate.fields}
        contracts: dict[str, Contract | None] = dict.fromkeys(refs)
        with self.trust.store.sessions() as session:
            members = set(session.scalars(select(MemberRow.name)))
            rows = session.execute(
                select(MemberRow.name, DatasetRow.name, DatasetRow.contract).join(
                    DatasetRow, DatasetRow.member_id == MemberRow.id
                )
            )
            for member, name, contract in rows:
                if f"{member}/{name}" in contracts:
                    contracts[f"{member}/{name}"] = Contract.model_validate(contract)
        return LintContext(
            agreement=agreement,
            contracts=contracts,
            members=members,
            max_retention_days=self.trust.settings.max_retention_days,
        )

    def lint(self, agreement: Agreement | Path | str) -> LintReport:
        """Run the IG checks on an agreement (a model, or a file)."""
        model = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
        return lint(self.lint_context(model))

    # -- lifecycle -------------------------------------------------------------------------

    def propose(
        self,
        agreement: Agreement | Path | str | dict[str, Any],
        *,
        actor: User | None = None,
    ) -> VersionInfo:
        """Store an agreement as a draft: version 1, or N+1 if its content changed.

        Proposing the same content again changes nothing. A change after any signature makes a
        new version, which needs every controller's signature again. ``actor`` proposes it (an
        ig-lead or admin; the trust operator when not given) and is recorded as its proposer.
        """
        actor = self.trust.acting(actor)
        roles.propose_agreement(actor)
        model = _as_model(agreement)
        canonical = model.canonical().decode("utf-8")
        digest = model.sha256()
        with self.trust.unit_of_work(actor) as uow:
            row = uow.session.get(AgreementRow, model.id)
            if row is not None and row.revoked_at is not None:
                raise PermissionDenied(
                    f"Agreement {model.id} was revoked ({row.revoked_reason}); "
                    "propose a new agreement with a new id instead."
                )
            if row is not None:
                latest = _version_row(uow.session, model.id, row.latest_version)
                if latest.sha256 == digest:
                    return _version_info(latest, created=False)
                number = row.latest_version + 1
                row.latest_version, row.title = number, model.title
            else:
                number = 1
                row = AgreementRow(id=model.id, title=model.title, latest_version=1)
                uow.session.add(row)
                uow.session.flush()
            version = AgreementVersionRow(
                agreement_id=model.id,
                version=number,
                canonical_json=canonical,
                sha256=digest,
                status="draft",
                proposed_by=actor.email,
            )
            uow.session.add(version)
            uow.emit(
                AgreementProposed(
                    agreement=model.id,
                    version=number,
                    sha256=digest,
                    title=model.title,
                    purpose=model.purpose_code,
                    controllers=model.controllers,
                    recipients=model.recipients,
                )
            )
            uow.session.flush()
            return _version_info(version)

    def sign(
        self,
        agreement_id: str,
        signer: User | str,
        signature: DetachedSignature | None = None,
        *,
        at: datetime | None = None,
    ) -> SignatureInfo:
        """Record a controller's signature on the latest version of an agreement.

        ``signer`` is the acting user (or their e-mail), read afresh from the catalogue. With
        ``signature`` (a detached signature made outside the trust) it is verified and stored;
        without it the member's private key in the trust home signs (a demo convenience). Only
        an ig-lead of a controller may sign — never an admin nor the trust operator, as a
        signature binds a member — and lint errors block signing. The log records the signer as
        the one who acted.
        """
        now = _now(at)
        if not isinstance(signer, str) and roles.is_operator(signer):
            raise PermissionDenied(
                "The trust operator cannot sign an agreement: a signature binds a member, so one "
                "of its IG leads signs (accord agreement sign ID --as EMAIL)."
            )
        signer_email = signer if isinstance(signer, str) else signer.email
        signer = self._user(signer_email)  # roles and active flag as they are now
        with self.trust.unit_of_work(signer) as uow:
            row = _agreement_row(uow.session, agreement_id)
            if row.revoked_at is not None:
                raise PermissionDenied(
                    f"Agreement {agreement_id} was revoked; it cannot be signed."
                )
            version = _version_row(uow.session, agreement_id, row.latest_version)
            model = _model(version)
            roles.sign_agreement(signer, agreement_id, model.controllers)
            user = uow.session.scalar(select(UserRow).where(UserRow.email == signer.email))
            if user is None:  # removed since it was read: refuse rather than sign for nobody
                raise PermissionDenied(f"{signer_email} is not an active user of this trust.")
            member = user.member
            report = lint(self.lint_context(model))
            if report.errors:
                raise InvalidInput(
                    f"Agreement {agreement_id} version {version.version} cannot be signed until "
                    "these problems are fixed",
                    details=[f.message for f in report.errors],
                )
            if any(s.member == member.name for s in _signatures(uow.session, version.id)):
                raise AlreadyExists(
                    f"{member.name} has already signed version {version.version} of {agreement_id}."
                )
            data = version.canonical_json.encode("utf-8")
            if signature is None:
                key_path = self.trust.catalogue.member_key_path(member.name)
                if not key_path.exists():
                    raise NotFound(
                        f"The trust home holds no private key for {member.name}: sign outside "
                        "the trust (accord agreement sign FILE --key KEY --out SIG) and upload "
                        "the signature with --signature."
                    )
                signature = sign_agreement(model, load_private_key(key_path))
            if signature.agreement != agreement_id or signature.sha256 != version.sha256:
                raise IntegrityError(
                    f"The signature was made over different content (agreement "
                    f"{signature.agreement}, sha256 {signature.sha256[:12]}…) from version "
                    f"{version.version} of {agreement_id} (sha256 {version.sha256[:12]}…): "
                    "sign the version the trust holds (accord agreement show shows it)."
                )
            if not verify(member.public_key, signature.signature, data):
                raise IntegrityError(
                    f"The signature does not verify with {member.name}'s public key: it is "
                    "forged, damaged or made with another key. Nothing was recorded."
                )
            sig = SignatureRow(
                version_id=version.id,
                member=member.name,
                signer_email=user.email,
                signature_b64=signature.signature,
                signed_at=now,
            )
            uow.session.add(sig)
            uow.emit(
                AgreementSigned(
                    agreement=agreement_id,
                    version=version.version,
                    member=member.name,
                    signer=user.email,
                    sha256=version.sha256,
                )
            )
            uow.session.flush()
            self._transition(uow, row, now)
            return SignatureInfo(member=member.name, signer=user.email, signed_at=now, valid=True)

    def revoke(self, agreement_id: str, reason: str, *, actor: User | None = None) -> None:
        """Revoke an agreement: from now on it grants nothing, whatever its version.

        ``actor`` revokes it (an ig-lead of a controller or an admin; the trust operator when not
        given) and is recorded as who revoked it.
        """
        actor = self.trust.acting(actor)
        if not reason.strip():
            raise InvalidInput("Say why the agreement is revoked (--reason)")
        with self.trust.unit_of_work(actor) as uow:
            row = _agreement_row(uow.session, agreement_id)
            model = _model(_version_row(uow.session, row.id, row.latest_version))
            roles.revoke_agreement(actor, agreement_id, model.controllers)
            if row.revoked_at is not None:
                raise AlreadyExists(f"Agreement {agreement_id} was already revoked.")
            row.revoked_at = datetime.now(UTC)
            row.revoked_by = actor.email
            row.revoked_reason = reason.strip()
            in_force = self._in_force(uow.session, agreement_id)
            version = in_force[0] if in_force[0] is not None else row.latest_version
            for v in _versions(uow.session, agreement_id):
                if v.status in ("active", "draft"):
                    v.status, v.ended_at = "revoked", row.revoked_at
            uow.emit(
                AgreementRevoked(agreement=agreement_id, version=version, reason=row.revoked_reason)
            )

    def refresh(self, at: datetime | None = None) -> list[str]:
        """Record the activations and expiries that time has brought (each emitted once)."""
        now = _now(at)
        changes: list[str] = []
        with self.trust.unit_of_work() as uow:
            for row in uow.session.scalars(select(AgreementRow).order_by(AgreementRow.id)):
                changes.extend(self._transition(uow, row, now))
        return changes

    def _transition(self, uow: Any, row: AgreementRow, now: datetime) -> list[str]:
        if row.revoked_at is not None:
            return []
        number, _problems = self._in_force(uow.session, row.id)
        if number is None:
            return []
        version = _version_row(uow.session, row.id, number)
        model = _model(version)
        starts, ends = model.starts_at(), model.ends_at()
        changes: list[str] = []
        started = starts is not None and starts <= now and (ends is None or now < ends)
        if version.status == "draft" and started:
            for older in _versions(uow.session, row.id):
                if older.version < number and older.status == "active":
                    older.status, older.ended_at = "superseded", now
            version.status, version.activated_at = "active", now
            uow.emit(AgreementActivated(agreement=row.id, version=number, sha256=version.sha256))
            changes.append(f"{row.id} version {number} is now active")
        if version.status != "expired" and ends is not None and now >= ends:
            version.status, version.ended_at = "expired", now
            uow.emit(AgreementExpired(agreement=row.id, version=number, expires=str(model.expires)))
            changes.append(f"{row.id} version {number} has expired")
        return changes

    def _user(self, email: str) -> User:
        """The catalogue's user ``email``, refused (not "not found") when unknown or inactive."""
        try:
            user = self.trust.catalogue.get_user(email.strip().lower())
        except NotFound as exc:
            raise PermissionDenied(f"{email} is not an active user of this trust.") from exc
        if not user.active:
            raise PermissionDenied(f"{email} is not an active user of this trust.")
        return user

    # -- reading ---------------------------------------------------------------------------

    def get(self, agreement_id: str, version: int | None = None) -> Agreement:
        """The agreement as proposed (the latest version unless ``version`` is given)."""
        with self.trust.store.sessions() as session:
            row = _agreement_row(session, agreement_id)
            return _model(_version_row(session, agreement_id, version or row.latest_version))

    def versions(self, agreement_id: str) -> list[VersionInfo]:
        with self.trust.store.sessions() as session:
            _agreement_row(session, agreement_id)
            return [_version_info(v) for v in _versions(session, agreement_id)]

    def status(self, agreement_id: str, at: datetime | None = None) -> AgreementStatus:
        """Where an agreement stands now (or at ``at``)."""
        now = _now(at)
        with self.trust.store.sessions() as session:
            return self._status(session, _agreement_row(session, agreement_id), now)

    def list(self, at: datetime | None = None) -> list[AgreementStatus]:
        now = _now(at)
        with self.trust.store.sessions() as session:
            rows = session.scalars(select(AgreementRow).order_by(AgreementRow.id))
            return [self._status(session, row, now) for row in rows]

    def history(self, agreement_id: str) -> list[HistoryEntry]:
        """Every recorded event about an agreement, oldest first."""
        with self.trust.store.sessions() as session:
            _agreement_row(session, agreement_id)
            rows = session.scalars(
                select(EventRow).where(EventRow.agreement == agreement_id).order_by(EventRow.seq)
            )
            return [
                HistoryEntry(
                    seq=r.seq,
                    occurred_at=r.occurred_at,
                    actor=r.actor,
                    kind=r.kind,
                    summary=_summary(r.kind, json.loads(r.payload)),
                )
                for r in rows
            ]

    def _status(self, session: Session, row: AgreementRow, now: datetime) -> AgreementStatus:
        versions = _versions(session, row.id)
        latest = versions[-1]
        model = _model(latest)
        number, problems = self._in_force(session, row.id)
        in_force = _version_row(session, row.id, number) if number is not None else None
        force_model = _model(in_force) if in_force is not None else model
        keys = _public_keys(session)
        signatures = [
            SignatureInfo(
                member=s.member,
                signer=s.signer_email,
                signed_at=s.signed_at,
                valid=verify(
                    keys.get(s.member, ""), s.signature_b64, latest.canonical_json.encode()
                ),
            )
            for s in _signatures(session, latest.id)
        ]
        signed = {s.member for s in signatures if s.valid}
        if row.revoked_at is not None:
            state = "revoked"
        elif in_force is None:
            state = "awaiting-signatures"
        else:
            starts, ends = force_model.starts_at(), force_model.ends_at()
            if ends is not None and now >= ends:
                state = "expired"
            elif starts is None or now < starts:
                state = "scheduled"
            else:
                state = "active"
        return AgreementStatus(
            id=row.id,
            title=row.title,
            state=state,
            latest_version=latest.version,
            in_force_version=number,
            purpose=force_model.purpose_code,
            controllers=model.controllers,
            recipients=model.recipients,
            signatures=signatures,
            missing_signatures=[c for c in model.controllers if c not in signed],
            proposed_at=versions[0].proposed_at,
            latest_proposed_at=latest.proposed_at,
            activated_at=in_force.activated_at if in_force is not None else None,
            valid_from=str(force_model.valid_from) if force_model.valid_from else None,
            expires=str(force_model.expires) if force_model.expires else None,
            revoked_reason=row.revoked_reason,
            problems=problems,
        )

    # -- signatures and the version in force -----------------------------------------------

    def _in_force(self, session: Session, agreement_id: str) -> tuple[int | None, list[str]]:
        """The newest version every controller has validly signed, and any integrity problems.

        A version whose signatures are all present but do not verify (a tampered text, a forged
        signature) stops the search: the agreement then grants nothing rather than falling back.
        """
        keys = _public_keys(session)
        for version in reversed(_versions(session, agreement_id)):
            sigs = {s.member: s for s in _signatures(session, version.id)}
            problems = _verify_version(version, sigs, keys)
            if problems is None:
                continue  # not every controller has signed this version
            if problems:
                return None, problems
            return version.version, []
        return None, []

    def verify(self, agreement_id: str) -> list[str]:
        """Integrity problems of an agreement's signed versions (empty when all is well)."""
        with self.trust.store.sessions() as session:
            _agreement_row(session, agreement_id)
            return self._in_force(session, agreement_id)[1]

    # -- enforcement -----------------------------------------------------------------------

    def engine(self) -> PolicyEngine:
        """The compiled Cedar policies; rebuilt only when the lifecycle changed."""
        with self.trust.store.engine.connect() as connection:
            key = tuple(connection.execute(_ENGINE_KEY).one())
        if self._engine is not None and key == self._engine_key:
            return self._engine
        with self.trust.store.sessions() as session:
            states = []
            for row in session.scalars(select(AgreementRow)):
                number, _problems = self._in_force(session, row.id)
                version = _version_row(session, row.id, number or row.latest_version)
                states.append(
                    AgreementState(
                        id=row.id,
                        version=version.version,
                        agreement=_model(version),
                        signed=number is not None,
                        revoked=row.revoked_at is not None,
                    )
                )
        self._engine, self._engine_key = PolicyEngine(states), key
        return self._engine

    def principal(self, user_email: str) -> Principal | None:
        with self.trust.store.engine.connect() as connection:
            found = connection.execute(_PRINCIPAL, {"email": user_email.strip().lower()}).first()
        if found is None:
            return None
        email, member, roles, active = found
        return Principal(email=email, member=member, roles=tuple(roles), active=bool(active))

    def decide(
        self,
        user_email: str,
        agreement_id: str,
        purpose: str,
        fields: Mapping[str, Iterable[str]],
        at: datetime | None = None,
        *,
        record: bool = False,
    ) -> Decision:
        """May this user read these fields (dataset ref → field names) under this agreement and
        purpose, now (or at ``at``)? Default deny; any trust-wide forbid wins.

        Examples:
            >>> asked = {"camden/school_census": {"given_name", "sex"}}
            >>> d = trust.agreements.decide(
            ...     "ana@islington.gov.uk", "fsm-camden-islington", "fsm-support", asked
            ... )  # doctest: +SKIP
            >>> d.allowed, d.reasons  # doctest: +SKIP
            (False, ['Agreement fsm-camden-islington does not share camden/school_census.sex …'])
        """
        principal = self.principal(user_email)
        if principal is None:
            decision = Decision(False, [f"{user_email} is not a user of this trust."], [])
        else:
            decision = self.engine().decide(principal, agreement_id, purpose, fields, _now(at))
        if record:
            self.record(user_email, principal, agreement_id, purpose, decision)
        return decision

    def record(
        self,
        user_email: str,
        principal: Principal | None,
        agreement_id: str,
        purpose: str,
        decision: Decision,
    ) -> None:
        """Write a decision to the log (refusals are worth keeping)."""
        with self.trust.unit_of_work() as uow:
            uow.emit(
                AccessDecided(
                    agreement=agreement_id,
                    member=principal.member if principal else None,
                    user=user_email,
                    purpose=purpose,
                    allowed=decision.allowed,
                    reasons=decision.reasons,
                    policy_ids=decision.policy_ids,
                )
            )

    def grant(
        self, user_email: str, agreement_id: str, purpose: str, at: datetime | None = None
    ) -> AccessGrant:
        """What the agreement grants this user's member for this purpose, now (or at ``at``).

        Raises PermissionDenied, with the reason in plain words, when there is no access; the
        refusal is recorded in the log.
        """
        now = _now(at)
        principal = self.principal(user_email)
        if principal is None:
            decision = Decision(False, [f"{user_email} is not a user of this trust."], [])
            self.record(user_email, None, agreement_id, purpose, decision)
            raise PermissionDenied(decision.reasons[0])
        engine = self.engine()
        state = engine.states.get(agreement_id)
        shares = state.agreement.shares_for(principal.member) if state and state.signed else []
        wanted = {share.dataset: set(share.fields) for share in shares}
        decision, per_field, opted = engine.evaluate(
            principal, agreement_id, purpose, wanted, now, opt_out=True
        )
        if not decision.allowed or state is None:
            self.record(user_email, principal, agreement_id, purpose, decision)
            raise PermissionDenied(
                f"No access under agreement {agreement_id} for {purpose}: "
                + " ".join(decision.reasons),
                details=[f"deciding policies: {', '.join(decision.policy_ids)}"],
            )
        agreement = state.agreement
        datasets = {
            share.dataset: DatasetGrant(
                dataset=share.dataset,
                fields=frozenset(n for n in share.fields if per_field.get(f"{share.dataset}.{n}")),
                row_scope=share.row_scope or None,
            )
            for share in shares
        }
        record = agreement.outputs.record_level
        may_record = record.permitted and (
            record.roles is None or bool(set(record.roles) & set(principal.roles))
        )
        outputs = OutputRules(
            record_level=may_record,
            record_fields=frozenset(
                ref for ref in record.fields if may_record and per_field.get(ref)
            ),
            person_pseudonym=may_record and record.person_pseudonym,
            aggregate=agreement.outputs.aggregate.permitted,
            min_cell_size=max(
                agreement.outputs.aggregate.min_cell_size, self.trust.settings.min_cell_size
            ),
        )
        opt_allowed, opt_ids = opted if opted is not None else (False, [])
        policy_ids = [*decision.policy_ids, *(i for i in opt_ids if i not in decision.policy_ids)]
        return AccessGrant(
            agreement_id=agreement_id,
            agreement_version=state.version,
            purpose=purpose,
            recipient=principal.member,
            datasets=datasets,
            outputs=outputs,
            linkage=agreement.linkage.permitted,
            opt_out_applies=not opt_allowed,
            valid_from=agreement.starts_at(),
            expires=agreement.ends_at(),
            policy_ids=tuple(policy_ids),
        )

    def linkage_spec(
        self, agreement_id: str, at: datetime | None = None
    ) -> tuple[list[str], list[str]]:
        """(dataset refs, identifier roles) that linkage may use under an active agreement."""
        status = self.status(agreement_id, at)
        if status.state != "active" or status.in_force_version is None:
            raise PermissionDenied(
                f"Agreement {agreement_id} is {status.state.replace('-', ' ')}: linkage runs only "
                "under an active agreement."
            )
        model = self.get(agreement_id, status.in_force_version)
        if not model.linkage.permitted:
            raise PermissionDenied(f"Agreement {agreement_id} does not permit linkage.")
        refs = list(dict.fromkeys(share.dataset for share in model.datasets))
        return refs, [Role(r).value for r in model.linkage.identifier_roles]

    def export_odrl(self, agreement_id: str, version: int | None = None) -> dict[str, Any]:
        """The agreement as a W3C ODRL policy in JSON-LD."""
        from accord.agreements.odrl import to_odrl

        return to_odrl(
            self.get(agreement_id, version), version or self.status(agreement_id).latest_version
        )


# -- helpers ---------------------------------------------------------------------------------

# Built once: decisions run these on every call and must stay well under 5 ms.
_ENGINE_KEY = select(func.max(EventRow.seq), func.count(EventRow.seq)).where(
    EventRow.kind.in_(LIFECYCLE_KINDS)
)
_PRINCIPAL = (
    select(UserRow.email, MemberRow.name, UserRow.roles, UserRow.active)
    .join(MemberRow, UserRow.member_id == MemberRow.id)
    .where(UserRow.email == bindparam("email"))
)


def _as_model(agreement: Agreement | Path | str | dict[str, Any]) -> Agreement:
    if isinstance(agreement, Agreement):
        return agreement
    if isinstance(agreement, dict):
        return parse_agreement(agreement)
    return load_agreement(agreement)


def _agreement_row(session: Session, agreement_id: str) -> AgreementRow:
    row = session.get(AgreementRow, agreement_id)
    if row is None:
        raise NotFound(
            f"No agreement {agreement_id!r}; propose it with: accord agreement propose FILE"
        )
    return row


def _versions(session: Session, agreement_id: str) -> list[AgreementVersionRow]:
    return list(
        session.scalars(
            select(AgreementVersionRow)
            .where(AgreementVersionRow.agreement_id == agreement_id)
            .order_by(AgreementVersionRow.version)
        )
    )


def _version_row(session: Session, agreement_id: str, number: int) -> AgreementVersionRow:
    row = session.scalar(
        select(AgreementVersionRow).where(
            AgreementVersionRow.agreement_id == agreement_id,
            AgreementVersionRow.version == number,
        )
    )
    if row is None:
        raise NotFound(f"Agreement {agreement_id} has no version {number}")
    return row


def _signatures(session: Session, version_id: int) -> list[SignatureRow]:
    return list(
        session.scalars(
            select(SignatureRow)
            .where(SignatureRow.version_id == version_id)
            .order_by(SignatureRow.id)
        )
    )


def _public_keys(session: Session) -> dict[str, str]:
    return {
        name: key for name, key in session.execute(select(MemberRow.name, MemberRow.public_key))
    }


def _model(version: AgreementVersionRow) -> Agreement:
    return parse_agreement(
        json.loads(version.canonical_json), f"{version.agreement_id} v{version.version}"
    )


def _verify_version(
    version: AgreementVersionRow, sigs: dict[str, SignatureRow], keys: dict[str, str]
) -> list[str] | None:
    """None if some controller has not signed; else the problems ([] when every one verifies)."""
    import hashlib

    data = version.canonical_json.encode("utf-8")
    try:
        model = _model(version)
    except InvalidInput:
        return [f"Version {version.version} is stored damaged: it is not a valid agreement."]
    if not all(c in sigs for c in model.controllers) or not model.controllers:
        return None
    problems = []
    if hashlib.sha256(data).hexdigest() != version.sha256:
        problems.append(f"Version {version.version}'s text does not match its recorded sha256.")
    for controller in model.controllers:
        if not verify(keys.get(controller, ""), sigs[controller].signature_b64, data):
            problems.append(
                f"{controller}'s signature on version {version.version} does not verify: the "
                "text was changed after signing or the signature is forged."
            )
    return problems


def _version_info(row: AgreementVersionRow, created: bool = True) -> VersionInfo:
    return VersionInfo(
        agreement=row.agreement_id,
        version=row.version,
        sha256=row.sha256,
        proposed_at=row.proposed_at,
        proposed_by=row.proposed_by,
        status=row.status,
        activated_at=row.activated_at,
        created=created,
    )


def _summary(kind: str, p: dict[str, Any]) -> str:
    match kind:
        case "agreement.proposed":
            return f"Version {p['version']} proposed (sha256 {p['sha256'][:12]}…)."
        case "agreement.signed":
            return f"Version {p['version']} signed for {p['member']} by {p['signer']}."
        case "agreement.activated":
            return f"Version {p['version']} became active."
        case "agreement.expired":
            return f"Version {p['version']} expired (its expiry date was {p['expires']})."
        case "agreement.revoked":
            return f"Revoked: {p['reason']}"
        case "access.decided":
            verdict = "allowed" if p["allowed"] else "refused"
            return f"Access {verdict} for {p['user']} ({p['purpose']}): {' '.join(p['reasons'])}"
    return kind
