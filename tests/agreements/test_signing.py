"""Signatures: made outside the trust and uploaded; forgeries and tampering are rejected."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy import update

from accord import Trust
from accord.agreements.lifecycle.service import Agreements
from accord.agreements.model import Agreement
from accord.agreements.models_db import AgreementVersionRow
from accord.agreements.signing import read_detached, sign_agreement, write_detached
from accord.core.crypto.canonical import canonical_json
from accord.core.crypto.keys import SigningKey, load_private_key
from accord.errors import IntegrityError

from .conftest import analyst, ig

FIELDS = {"camden/school_census": {"given_name"}}


def test_a_detached_signature_made_outside_the_trust_is_accepted(
    pop: Trust, fsm: Agreement, tmp_path: Path
) -> None:
    pop.agreements.propose(fsm)
    key = load_private_key(pop.catalogue.member_key_path("islington"))
    write_detached(sign_agreement(fsm, key), tmp_path / "islington.sig")
    info = pop.agreements.sign(fsm.id, ig("islington"), read_detached(tmp_path / "islington.sig"))
    assert info.member == "islington" and info.valid


def test_a_signature_with_another_key_is_rejected(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    forged = sign_agreement(fsm, SigningKey.generate())
    with pytest.raises(IntegrityError, match="does not verify"):
        pop.agreements.sign(fsm.id, ig("islington"), forged)
    assert pop.agreements.status(fsm.id).signatures == []


def test_a_signature_over_other_content_is_rejected(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    key = load_private_key(pop.catalogue.member_key_path("islington"))
    other = sign_agreement(fsm.model_copy(update={"retention_days": 3000}), key)
    with pytest.raises(IntegrityError, match="different content"):
        pop.agreements.sign(fsm.id, ig("islington"), other)


def test_a_signature_with_a_doctored_fingerprint_is_rejected(pop: Trust, fsm: Agreement) -> None:
    pop.agreements.propose(fsm)
    key = load_private_key(pop.catalogue.member_key_path("islington"))
    other = sign_agreement(fsm.model_copy(update={"retention_days": 3000}), key)
    doctored = other.model_copy(update={"sha256": fsm.sha256()})
    with pytest.raises(IntegrityError, match="does not verify"):
        pop.agreements.sign(fsm.id, ig("islington"), doctored)


def test_a_tampered_agreement_in_the_database_grants_nothing(
    active_fsm: Trust, fsm: Agreement
) -> None:
    tampered = fsm.model_copy(update={"retention_days": 3650})
    data = tampered.to_dict()
    data["datasets"][0]["fields"].append("sex")
    with active_fsm.store.engine.begin() as connection:  # an attacker with database access
        connection.execute(
            update(AgreementVersionRow)
            .where(AgreementVersionRow.agreement_id == fsm.id)
            .values(canonical_json=canonical_json(data).decode())
        )
    fresh = Agreements(active_fsm)  # no cached policies
    status = fresh.status(fsm.id)
    assert status.state == "awaiting-signatures"
    assert any("does not verify" in p for p in status.problems)
    decision = fresh.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS)
    assert not decision.allowed and decision.policy_ids == ["trust/not-signed"]


def test_a_forged_signature_in_the_database_grants_nothing(
    active_fsm: Trust, fsm: Agreement
) -> None:
    from accord.agreements.models_db import SignatureRow

    forged = base64.b64encode(SigningKey.generate().sign(fsm.canonical())).decode()
    with active_fsm.store.engine.begin() as connection:
        connection.execute(
            update(SignatureRow).where(SignatureRow.member == "camden").values(signature_b64=forged)
        )
    fresh = Agreements(active_fsm)
    assert fresh.verify(fsm.id)
    assert not fresh.decide(analyst("islington"), fsm.id, "fsm-support", FIELDS).allowed


def test_the_signature_covers_the_canonical_json(pop: Trust, fsm: Agreement) -> None:
    key = load_private_key(pop.catalogue.member_key_path("camden"))
    detached = sign_agreement(fsm, key)
    raw = base64.b64decode(detached.signature)
    key.public.verify(raw, canonical_json(fsm.model_dump(mode="json")))  # raises if not
