"""Merkle trees as in RFC 6962 / RFC 9162 (Certificate Transparency).

Leaf hash ``SHA256(0x00 || data)``, interior node ``SHA256(0x01 || left || right)``, the tree
over ``n`` leaves split at the largest power of two below ``n``. In the audit log a leaf's data is
the entry's 32-byte SHA-256 (see :mod:`accord.audit.entry`), so a proof needs only hashes.

Inclusion proofs show one entry is in a signed tree; consistency proofs show a later tree is
the earlier one with entries appended (nothing changed, removed or reordered). Proof
verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step.

Examples:
    >>> leaves = [leaf_hash(bytes([i]) * 32) for i in range(5)]
    >>> root = tree_root(leaves)
    >>> path = inclusion_path(3, leaves)
    >>> verify_inclusion(3, 5, leaves[3], path, root)
    True
    >>> verify_consistency(3, 5, tree_root(leaves[:3]), root, consistency_proof(3, leaves))
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a growing tree: roots of its perfect subtrees, biggest first.

    Appending a leaf costs one hash on average and the root of the tree so far costs at most
    log2(n) more, so checkpoints never rehash the whole log.

    Examples:
        >>> f = Frontier()
        >>> for i in range(5):
        ...     f.append(leaf_hash(bytes([i]) * 32))
        >>> f.size, f.root() == tree_root([leaf_hash(bytes([i]) * 32) for i in range(5)])
        (5, True)
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.hashes = list(hashes)
        if len(self.hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of {size} leaves has {bin(size).count('1')} hashes")

    def append(self, leaf: bytes) -> None:
        hashes, n = self.hashes, self.size
        while n & 1:  # merge equal-sized subtrees, like carrying in binary addition
            leaf = _sha256(b"\x01" + hashes.pop() + leaf).digest()
            n >>= 1
        hashes.append(leaf)
        self.size += 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        it = reversed(self.hashes)
        acc = next(it)
        for left in it:
            acc = node_hash(left, acc)
        return acc

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_hex(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_hex(cls, size: int, hashes: Sequence[str]) -> Frontier:
        return cls(size, [bytes.fromhex(h) for h in hashes])


def tree_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


class _Levels:
    """All levels of the tree (level 0 = leaves) to answer subtree roots quickly."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[Sequence[bytes]] = [leaves]
        level = leaves
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end])."""
        size = end - start
        if size == 0:
            return EMPTY_ROOT
        if size & (size - 1) == 0 and start % size == 0:
            return self.levels[size.bit_length() - 1][start // size]
        k = _split(size)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path of leaf ``index``."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError(f"leaf {index} is not in a tree of {n} leaves")
    levels = _Levels(leaves)
    path: list[bytes] = []

    def walk(m: int, start: int, end: int) -> None:
        if end - start <= 1:
            return
        k = _split(end - start)
        if m < k:
            walk(m, start, start + k)
            path.append(levels.subtree(start + k, end))
        else:
            walk(m - k, start + k, end)
            path.append(levels.subtree(start, start + k))

    walk(index, 0, n)
    return path


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 between the first ``old_size`` leaves and all."""
    n = len(leaves)
    if not 0 < old_size <= n:
        raise ValueError(f"no consistency proof from size {old_size} to size {n}")
    levels = _Levels(leaves)
    proof: list[bytes] = []

    def sub(m: int, start: int, end: int, complete: bool) -> None:
        size = end - start
        if m == size:
            if not complete:
                proof.append(levels.subtree(start, end))
            return
        k = _split(size)
        if m <= k:
            sub(m, start, start + k, complete)
            proof.append(levels.subtree(start + k, end))
        else:
            sub(m - k, start + k, end, False)
            proof.append(levels.subtree(start, start + k))

    sub(old_size, 0, n, True)
    return proof


def root_from_inclusion(
    index: int, tree_size: int, leaf: bytes, path: Sequence[bytes]
) -> bytes | None:
    """The root a proof leads to (RFC 9162 §2.1.3.2), or None if it is malformed."""
    if not 0 <= index < tree_size:
        return None
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """True when ``path`` proves leaf ``index`` (with hash ``leaf``) is in the tree ``root``."""
    return root_from_inclusion(index, tree_size, leaf, path) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """True when ``proof`` shows the tree ``new_root`` extends the tree ``old_root``."""
    if old_size < 0 or new_size < old_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # everything extends the empty tree
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # an exact power of two: its root is a node of both
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
