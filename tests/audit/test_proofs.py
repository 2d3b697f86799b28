"""Inclusion and consistency proofs from a live trust hold, and fail once tampered with."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accord import Trust
from accord.errors import IntegrityError, NotFound


def test_an_inclusion_proof_holds_against_a_signed_checkpoint(filled: Trust) -> None:
    proof = filled.audit.prove_inclusion(7)
    assert proof.tree_size == 12 and proof.checkpoint is not None
    assert proof.problems(filled.signing_key.public) == []


def test_a_proof_with_an_altered_entry_fails(filled: Trust) -> None:
    proof = filled.audit.prove_inclusion(7)
    proof.entry["actor"] = "someone-else"
    assert any("do not match its hash" in p for p in proof.problems(filled.signing_key.public))


def test_a_proof_with_a_bent_path_fails(filled: Trust) -> None:
    proof = filled.audit.prove_inclusion(7)
    proof.path[0] = "00" * 32
    assert any("does not lead" in p for p in proof.problems(filled.signing_key.public))


def test_a_proof_under_a_forged_checkpoint_fails(filled: Trust) -> None:
    from accord.core.crypto.keys import SigningKey

    proof = filled.audit.prove_inclusion(7)
    assert any("signature" in p for p in proof.problems(SigningKey.generate().public))


def test_a_consistency_proof_between_checkpoints_holds(
    filled: Trust, add: Callable[..., None]
) -> None:
    filled.audit.checkpoint()
    add(filled, 9)
    filled.audit.checkpoint()
    proof = filled.audit.prove_consistency(12)
    assert (proof.old_size, proof.new_size) == (12, 21)
    assert proof.old_checkpoint is not None and proof.new_checkpoint is not None
    assert proof.problems(filled.signing_key.public) == []
    proof.path[-1] = "11" * 32
    assert proof.problems(filled.signing_key.public)


def test_no_proof_for_an_entry_that_does_not_exist(filled: Trust) -> None:
    with pytest.raises(NotFound, match="no entry 99"):
        filled.audit.prove_inclusion(99)


def test_no_proof_from_a_log_that_no_longer_matches_its_checkpoint(
    filled: Trust, tamper: Callable[..., None]
) -> None:
    filled.audit.checkpoint()
    tamper(filled, "UPDATE events SET entry_hash = :h WHERE chain_index = 3", h="ab" * 32)
    with pytest.raises(IntegrityError, match="no longer matches"):
        filled.audit.prove_inclusion(5)
