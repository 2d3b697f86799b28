"""Merkle proofs agree with RFC 6962's own definitions, and fail when anything is changed."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_proof,
    inclusion_path,
    leaf_hash,
    node_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

# -- RFC 6962 §2.1, written as literally as possible ------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def rfc_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + rfc_mth(d[:k]) + rfc_mth(d[k:])).digest()


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*rfc_path(m, d[:k]), rfc_mth(d[k:])]
    return [*rfc_path(m - k, d[k:]), rfc_mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [rfc_mth(d)]
    k = _k(n)
    if m <= k:
        return [*rfc_subproof(m, d[:k], b), rfc_mth(d[k:])]
    return [*rfc_subproof(m - k, d[k:], False), rfc_mth(d[:k])]


def _data(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(n)]


sizes = st.integers(min_value=1, max_value=300)


@given(sizes)
def test_root_is_the_rfc_tree_hash(n: int) -> None:
    d = _data(n)
    leaves = [leaf_hash(x) for x in d]
    assert tree_root(leaves) == rfc_mth(d)


def test_the_empty_tree_hashes_the_empty_string() -> None:
    assert tree_root([]) == EMPTY_ROOT == rfc_mth([])


@given(sizes, st.data())
def test_frontier_root_matches_at_every_size(n: int, data: st.DataObject) -> None:
    d = _data(n)
    frontier = Frontier()
    for x in d:
        frontier.append(leaf_hash(x))
    assert frontier.root() == rfc_mth(d)
    again = Frontier.from_hex(frontier.size, frontier.to_hex())
    extra = data.draw(st.integers(min_value=0, max_value=20))
    more = _data(n + extra)
    for x in more[n:]:
        again.append(leaf_hash(x))
    assert again.root() == rfc_mth(more)


@given(st.data())
@settings(max_examples=150)
def test_inclusion_paths_are_the_rfc_paths_and_verify(data: st.DataObject) -> None:
    n = data.draw(sizes)
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    d = _data(n)
    leaves = [leaf_hash(x) for x in d]
    path = inclusion_path(m, leaves)
    assert path == rfc_path(m, d)
    assert verify_inclusion(m, n, leaves[m], path, rfc_mth(d))


@given(st.data())
@settings(max_examples=150)
def test_a_tampered_inclusion_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=300))
    m = data.draw(st.integers(min_value=0, max_value=n - 1))
    d = _data(n)
    leaves = [leaf_hash(x) for x in d]
    path, root = inclusion_path(m, leaves), rfc_mth(d)
    other = data.draw(st.integers(min_value=0, max_value=n - 1).filter(lambda i: i != m))
    assert not verify_inclusion(m, n, leaves[other], path, root)  # another entry
    assert not verify_inclusion(other, n, leaves[m], path, root)  # another position
    assert not verify_inclusion(m, n, leaves[m], path, leaf_hash(b"root"))  # another root
    if path:
        i = data.draw(st.integers(min_value=0, max_value=len(path) - 1))
        bent = [*path[:i], hashlib.sha256(path[i]).digest(), *path[i + 1 :]]
        assert not verify_inclusion(m, n, leaves[m], bent, root)
        assert not verify_inclusion(m, n, leaves[m], path[:-1], root)  # shortened
    assert not verify_inclusion(m, n, leaves[m], [*path, root], root)  # lengthened


@given(st.data())
@settings(max_examples=150)
def test_consistency_proofs_are_the_rfc_proofs_and_verify(data: st.DataObject) -> None:
    n = data.draw(sizes)
    m = data.draw(st.integers(min_value=1, max_value=n))
    d = _data(n)
    leaves = [leaf_hash(x) for x in d]
    proof = consistency_proof(m, leaves)
    assert proof == rfc_subproof(m, d, True)
    assert verify_consistency(m, n, rfc_mth(d[:m]), rfc_mth(d), proof)


@given(st.data())
@settings(max_examples=150)
def test_a_tampered_consistency_proof_fails(data: st.DataObject) -> None:
    n = data.draw(st.integers(min_value=2, max_value=300))
    m = data.draw(st.integers(min_value=1, max_value=n - 1))
    d = _data(n)
    leaves = [leaf_hash(x) for x in d]
    proof = consistency_proof(m, leaves)
    old, new = rfc_mth(d[:m]), rfc_mth(d)
    # A changed earlier entry: the old root no longer fits the new tree.
    changed = [*d[: m - 1], b"forged", *d[m:]]
    assert not verify_consistency(m, n, rfc_mth(changed[:m]), new, proof)
    assert not verify_consistency(m, n, old, rfc_mth(changed), proof)
    i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
    bent = [*proof[:i], hashlib.sha256(proof[i]).digest(), *proof[i + 1 :]]
    assert not verify_consistency(m, n, old, new, bent)
    assert not verify_consistency(m, n, old, new, proof[:-1])  # shortened


def test_node_hash_prefixes_one_and_leaf_hash_prefixes_zero() -> None:
    a, b = b"a" * 32, b"b" * 32
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert leaf_hash(a) == hashlib.sha256(b"\x00" + a).digest()
