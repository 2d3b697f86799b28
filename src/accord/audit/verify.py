"""Verifying the log: recompute every entry's hash, follow every link, check every signature.

Works on any iterator of entry tuples (see :mod:`accord.audit.reader`), so the same code checks
the live database and an exported copy. When something is wrong it names the first bad entry
and says, as far as the evidence allows, what happened to it: altered, deleted, inserted,
reordered, or rewritten after a checkpoint was signed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from accord.audit.checkpoints import Checkpoint
from accord.audit.entry import GENESIS, encode_basestring, entry_bytes
from accord.audit.merkle import Frontier

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    """The first thing found wrong in the chain; ``first_bad`` is an entry number."""

    first_bad: int | None
    message: str
    seq: int | None = None


@dataclass
class ChainResult:
    entries: int
    head_hash: str
    frontier: Frontier
    problem: Problem | None
    checkpoints_matched: int


def check_chain(
    rows: Iterable[Row],
    *,
    start_index: int = 1,
    prev_hash: str = GENESIS,
    frontier: Frontier | None = None,
    checkpoints: Sequence[Checkpoint] = (),
) -> ChainResult:
    """Walk the chain from ``start_index``; stop at the first problem.

    ``checkpoints`` must already have valid signatures; each one whose size is reached is
    compared with the Merkle root and head recomputed from the entries themselves.
    """
    frontier = frontier if frontier is not None else Frontier()
    due = sorted((c for c in checkpoints if c.tree_size > frontier.size), key=_size)
    sha256 = hashlib.sha256
    esc = encode_basestring
    stack, size = frontier.hashes, frontier.size  # the frontier, updated in place below
    expected, prev, prev2 = start_index, prev_hash, ""
    last_matched, matched, d = start_index - 1, 0, 0
    next_due = due[0].tree_size if due else -1
    problem: Problem | None = None
    it = iter(rows)
    for cur in it:
        # The hot path, kept flat: it runs once per entry. Any surprise (a wrong number, a
        # broken link, a None where text belongs) drops to _diagnose, which says what it is.
        if cur[0] == expected and cur[8] == prev:
            try:
                data = (
                    f'{{"actor":{esc(cur[3])},"agreement":'
                    f"{'null' if cur[6] is None else esc(cur[6])},"
                    f'"index":{expected},"kind":{esc(cur[4])},"member":'
                    f"{'null' if cur[5] is None else esc(cur[5])},"
                    f'"occurred_at":{esc(cur[2])},"payload":{esc(cur[7])},'
                    f'"prev_hash":"{prev}"}}'
                ).encode()
            except TypeError:
                data = b""
            digest = sha256(data).digest()
            hexed = digest.hex()
            if hexed == cur[9]:
                leaf, n = sha256(b"\x00" + digest).digest(), size
                while n & 1:  # Frontier.append, inlined
                    leaf = sha256(b"\x01" + stack.pop() + leaf).digest()
                    n >>= 1
                stack.append(leaf)
                size += 1
                prev2, prev = prev, hexed
                if expected == next_due:
                    frontier.size = size
                    root = frontier.root().hex()
                    while d < len(due) and due[d].tree_size == expected:
                        if due[d].root_hash != root or due[d].head_hash != prev:
                            problem = _rewritten(last_matched + 1, due[d])
                            break
                        d += 1
                        matched += 1
                    if problem is not None:
                        break
                    last_matched = expected
                    next_due = due[d].tree_size if d < len(due) else -1
                expected += 1
                continue
        problem = _diagnose(expected, cur, next(it, None), prev, prev2)
        break
    frontier.size = size
    if problem is None and d < len(due):
        problem = _truncated(frontier.size, due[d])
    return ChainResult(frontier.size, prev, frontier, problem, matched)


def _size(c: Checkpoint) -> int:
    return c.tree_size


def _rehash(row: Row, index: int) -> str:
    try:
        data = entry_bytes(index, row[2], row[3], row[4], row[5], row[6], row[7], row[8])
    except TypeError:  # a value of a type Accord never writes (e.g. bytes): not the hashed one
        return ""
    return hashlib.sha256(data).hexdigest()


def _diagnose(p: int, cur: Row, nxt: Row | None, prev: str, prev2: str) -> Problem:
    """Say what most likely happened at position ``p``, where the chain first fails."""
    seq = cur[1] if len(cur) > 1 and isinstance(cur[1], int) else None
    index = cur[0]
    if index is None and len(cur) == 3:  # an unreadable line of an export
        return Problem(p, f"Entry {p} cannot be read ({cur[2]}): the file was damaged or edited.")
    if not isinstance(index, int) or isinstance(index, bool):
        return Problem(p, f"Entry {p} has no valid entry number ({index!r}): it was altered.", seq)
    if index > p:
        if nxt is not None and nxt[0] == p:
            return Problem(
                p,
                f"Entries {p} and {index} are out of order: entry {index} comes before "
                f"entry {p}. The log was reordered.",
                seq,
            )
        if index == p + 1:
            return Problem(p, f"Entry {p} is missing: it was deleted.", seq)
        return Problem(p, f"Entries {p} to {index - 1} are missing: they were deleted.", seq)
    if index < p:
        return Problem(
            p,
            f"Entry {index} appears again at position {p} (after entry {p - 1}): an entry was "
            "inserted or copied there.",
            seq,
        )
    stored = cur[9]
    if _rehash(cur, p) != stored:
        if p > 1 and _rehash(cur, p - 1) == stored and cur[8] == prev2:
            return Problem(
                p - 1,
                f"Entry {p - 1} was inserted: the entry now numbered {p} was written as entry "
                f"{p - 1} and still links to the entry before the inserted one.",
                seq,
            )
        if _rehash(cur, p + 1) == stored:
            if nxt is not None and len(nxt) == 10 and _rehash(nxt, p) == nxt[9]:
                return Problem(
                    p,
                    f"Entries {p} and {p + 1} were swapped: the log was reordered.",
                    seq,
                )
            return Problem(
                p,
                f"Entry {p} was deleted and the entries after it renumbered to hide the gap.",
                seq,
            )
        return Problem(
            p,
            f"Entry {p} was altered: its contents no longer match the hash recorded when it "
            "was written.",
            seq,
        )
    if p == 1:
        return Problem(1, "Entry 1 does not start the chain: it was replaced.", seq)
    return Problem(
        p - 1,
        f"The chain is broken between entries {p - 1} and {p}: entry {p} no longer links to "
        f"entry {p - 1}, so entry {p - 1} was replaced (its hash recomputed) or entry {p} "
        "was re-linked.",
        seq,
    )


def _rewritten(first: int, checkpoint: Checkpoint) -> Problem:
    return Problem(
        first,
        f"Entries {first} to {checkpoint.tree_size} no longer match {checkpoint.describe()}: "
        "they were rewritten after it was signed (and the chain recomputed to hide it). "
        f"The first bad entry is at or after entry {first}.",
    )


def _truncated(size: int, checkpoint: Checkpoint) -> Problem:
    return Problem(
        size + 1,
        f"The log ends at entry {size}, but {checkpoint.describe()} covers "
        f"{checkpoint.tree_size} entries: entries {size + 1} to {checkpoint.tree_size} "
        "were deleted.",
    )


@dataclass
class VerifyReport:
    """The outcome of checking a log. ``ok`` is False when anything was found wrong."""

    source: str
    entries: int = 0
    checkpoints: int = 0
    first_bad: int | None = None
    first_bad_seq: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    public_key: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """Plain words for a person: what was checked and what, if anything, is wrong."""
        if self.ok:
            head = (
                f"The audit log in {self.source} is intact: {self.entries} entries and "
                f"{self.checkpoints} signed checkpoints checked in {self.seconds:.1f} s."
            )
        else:
            where = f" The first bad entry is number {self.first_bad}." if self.first_bad else ""
            head = f"The audit log in {self.source} has been tampered with.{where}"
        lines = [head, *(f"- {p}" for p in self.problems), *(f"Note: {n}" for n in self.notes)]
        return "\n".join(lines)


def verify_log(
    rows: Iterable[Row],
    checkpoints: Sequence[Checkpoint],
    public_key: Ed25519PublicKey,
    *,
    source: str,
    public_key_text: str = "",
    anchors: Sequence[Checkpoint] = (),
    unchained: tuple[int, list[int]] = (0, []),
) -> VerifyReport:
    """Check a whole log: chain, checkpoint signatures, and agreement with each checkpoint.

    ``anchors`` are checkpoints the verifier kept elsewhere (``--from-checkpoint``): they catch
    a log that was cut short or rewritten together with its stored checkpoints.
    """
    started = time.perf_counter()
    report = VerifyReport(source=source, public_key=public_key_text)
    valid: list[Checkpoint] = []
    for kept_elsewhere, group in ((False, checkpoints), (True, anchors)):
        for c in group:
            if c.is_signed_by(public_key):
                valid.append(c)
            else:
                what = "The checkpoint you supplied" if kept_elsewhere else "Stored checkpoint"
                report.problems.append(
                    f"{what} of {c.tree_size} entries signed at {c.signed_at} has a signature "
                    "that the trust's key did not make: it was forged or altered."
                )
    result = check_chain(rows, checkpoints=valid)
    report.entries = result.entries
    report.checkpoints = result.checkpoints_matched
    if result.problem is not None:
        report.problems.insert(0, result.problem.message)
        report.first_bad = result.problem.first_bad
        report.first_bad_seq = result.problem.seq
    count, seqs = unchained
    if count:
        listed = ", ".join(str(s) for s in seqs) + (" …" if count > len(seqs) else "")
        report.problems.append(
            f"{count} event row(s) are not in the chain (seq {listed}): they were written "
            "straight into the database, not through Accord."
        )
        if report.first_bad_seq is None:
            report.first_bad_seq = seqs[0]
    covered = max((c.tree_size for c in valid), default=0)
    if result.problem is None and result.entries > covered:
        report.notes.append(
            f"Entries {covered + 1} to {result.entries} are chained but not yet covered by a "
            "signed checkpoint; run `accord audit checkpoint` to sign them."
        )
    report.seconds = time.perf_counter() - started
    return report
