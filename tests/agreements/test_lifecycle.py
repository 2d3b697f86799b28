"""Propose → sign by every controller → active → expired or revoked; edits void signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from accord import Trust
from accord.agreements.model import Agreement
from accord.core.store.models import EventRow
from accord.errors import AlreadyExists, InvalidInput, PermissionDenied

from .conftest import TODAY, activate, analyst, ig, template

FIELDS = {"camden/school_census": {"given_name", "school_name"}}


def kinds(trust: Trust, agreement: str) -> list[str]:
    with trust.store.sessions() as session:
        rows = session.scalars(
            select(EventRow.kind).where(EventRow.agreement == agreement).order_by(EventRow.seq)
        )
        return list(rows)


def test_proposing_stores_version_one_as_a_draft(pop: Trust, fsm: Agreement) -> None:
    info = pop.agreements.propose(fsm)
    assert (info.version, info.status) == (1, "draft")
    assert pop.agreements.status(fsm.id).state == "awaiting-signatures"
    assert pop.agreements.get(fsm.id) == fsm


def test_proposing_the_same_text_again_changes_nothing(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    again = pop.agreements.propose(fsm)
    assert (again.version, again.created) == (1, False)
    assert kinds(pop, fsm.id) == ["agreement.proposed"]


def test_proposing_changed_content_makes_the_next_version(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    info = pop.agreements.propose(fsm.model_copy(update={"retention_days": 200}))
    assert info.version == 2
    assert pop.agreements.get(fsm.id, 1).retention_days == 365
    assert pop.agreements.get(fsm.id).retention_days == 200


def test_the_agreement_is_active_once_every_controller_has_signed(
    pop: Trust, fsm: Agreement
) -> None:
    pop.agreements.propose(fsm)
    pop.agreements.sign(fsm.id, ig("camden"))
    assert pop.agreements.status(fsm.id).missing_signatures == ["islington"]
    assert not pop.agreements.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS).allowed
    pop.agreements.sign(fsm.id, ig("islington"))
    status = pop.agreements.status(fsm.id)
    assert status.state == "active" and status.activated_at is not None
    assert pop.agreements.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS).allowed
    assert kinds(pop, fsm.id)[-1] == "agreement.activated"


def test_only_an_ig_lead_may_sign(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    with pytest.raises(PermissionDenied, match="ig-lead"):
        pop.agreements.sign(fsm.id, analyst("camden"))


def test_only_a_controller_may_sign(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    with pytest.raises(PermissionDenied, match="not a controller"):
        pop.agreements.sign(fsm.id, ig("hackney"))


def test_a_controller_signs_once(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    pop.agreements.sign(fsm.id, ig("camden"))
    with pytest.raises(AlreadyExists):
        pop.agreements.sign(fsm.id, ig("camden"))


def test_lint_errors_block_signing(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm.model_copy(update={"retention_days": None}))
    with pytest.raises(InvalidInput, match="cannot be signed") as caught:
        pop.agreements.sign(fsm.id, ig("camden"))
    assert any("retention_days" in d for d in caught.value.details)


def test_an_edit_after_signing_voids_the_signatures(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    pop.agreements.sign(fsm.id, ig("camden"))
    pop.agreements.propose(fsm.model_copy(update={"retention_days": 200}))
    status = pop.agreements.status(fsm.id)
    assert status.latest_version == 2
    assert status.signatures == []
    assert status.missing_signatures == ["camden", "islington"]
    pop.agreements.sign(fsm.id, ig("islington"))  # signs version 2 only
    assert pop.agreements.status(fsm.id).state == "awaiting-signatures"
    assert not pop.agreements.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS).allowed


def test_an_active_version_stays_in_force_while_its_amendment_awaits_signatures(
    active_fsm: Trust, fsm: Agreement
) -> None:
    active_fsm.agreements.propose(fsm.model_copy(update={"retention_days": 200}))
    status = active_fsm.agreements.status(fsm.id)
    assert (status.state, status.in_force_version, status.latest_version) == ("active", 1, 2)
    activate_v2 = [active_fsm.agreements.sign(fsm.id, ig(c)) for c in fsm.controllers]
    assert len(activate_v2) == 2
    assert active_fsm.agreements.status(fsm.id).in_force_version == 2
    assert (
        active_fsm.agreements.grant(analyst("islington"), fsm.id, "fsm-support").agreement_version
        == 2
    )


def test_a_future_start_date_keeps_it_scheduled_until_then(pop: Trust) -> None:
    later = template("fsm", valid_from=str(TODAY + timedelta(days=10)))
    activate(pop, later)
    assert pop.agreements.status(later.id).state == "scheduled"
    fields = FIELDS
    assert not pop.agreements.decide(analyst("islington"), later.id, "fsm-support", fields).allowed
    then = datetime.now(UTC) + timedelta(days=11)
    assert pop.agreements.decide(
        analyst("islington"), later.id, "fsm-support", fields, then
    ).allowed
    assert pop.agreements.refresh(at=then) == [f"{later.id} version 1 is now active"]


def test_an_expired_agreement_denies_access(active_fsm: Trust, fsm: Agreement) -> None:
    after = datetime.now(UTC) + timedelta(days=400)
    decision = active_fsm.agreements.decide(
        analyst("islington"), fsm.id, "fsm-support", FIELDS, after
    )
    assert not decision.allowed
    assert decision.policy_ids == ["trust/expired"]
    assert "expired" in decision.reasons[0]
    with pytest.raises(PermissionDenied, match="expired"):
        active_fsm.agreements.grant(analyst("islington"), fsm.id, "fsm-support", at=after)


def test_refresh_records_an_expiry_once(active_fsm: Trust, fsm: Agreement) -> None:
    after = datetime.now(UTC) + timedelta(days=400)
    assert active_fsm.agreements.refresh(at=after) == [f"{fsm.id} version 1 has expired"]
    assert active_fsm.agreements.refresh(at=after) == []
    assert kinds(active_fsm, fsm.id).count("agreement.expired") == 1
    assert active_fsm.agreements.status(fsm.id, at=after).state == "expired"


def test_a_revoked_agreement_denies_access(active_fsm: Trust, fsm: Agreement) -> None:
    active_fsm.agreements.revoke(fsm.id, "Camden found the school census was out of date")
    decision = active_fsm.agreements.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS)
    assert not decision.allowed and decision.policy_ids == ["trust/revoked"]
    status = active_fsm.agreements.status(fsm.id)
    assert status.state == "revoked"
    assert status.revoked_reason == "Camden found the school census was out of date"
    assert kinds(active_fsm, fsm.id)[-1] == "agreement.revoked"


def test_a_revoked_agreement_cannot_be_signed_or_reproposed(
    active_fsm: Trust, fsm: Agreement
) -> None:
    active_fsm.agreements.revoke(fsm.id, "ended early")
    with pytest.raises(PermissionDenied, match="revoked"):
        active_fsm.agreements.propose(fsm.model_copy(update={"retention_days": 10}))
    with pytest.raises(PermissionDenied, match="revoked"):
        active_fsm.agreements.sign(fsm.id, ig("camden"))


def test_only_a_controllers_ig_lead_or_an_admin_may_revoke(
    active_fsm: Trust, fsm: Agreement
) -> None:
    user = active_fsm.catalogue.get_user
    with pytest.raises(PermissionDenied, match="only an ig-lead of a controller"):
        active_fsm.agreements.revoke(fsm.id, "no reason", actor=user(analyst("islington")))
    with pytest.raises(PermissionDenied, match="hackney"):
        active_fsm.agreements.revoke(fsm.id, "no reason", actor=user(ig("hackney")))
    active_fsm.agreements.revoke(fsm.id, "ended early", actor=user(ig("camden")))
    assert active_fsm.agreements.status(fsm.id).state == "revoked"


def test_history_tells_the_story_in_words(active_fsm: Trust, fsm: Agreement) -> None:
    summaries = [h.summary for h in active_fsm.agreements.history(fsm.id)]
    assert summaries[0].startswith("Version 1 proposed")
    assert "Version 1 signed for camden by ig@camden.test." in summaries
    assert summaries[-1] == "Version 1 became active."
