"""Keyed pseudonyms (HMAC-SHA256): the same input and key give the same pseudonym, and
without the key nobody can compute or reverse one."""

from __future__ import annotations

import hashlib
import hmac


def keyed_pseudonym(secret: bytes, *parts: str, length: int = 32) -> str:
    """A hex pseudonym of ``parts`` under ``secret``; parts are joined unambiguously.

    Examples:
        >>> keyed_pseudonym(b"k" * 32, "agreement-1", "islington", "P123")[:8]
        '...'  # doctest: +SKIP
    """
    message = "\x1f".join(parts).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:length]


def derive_key(secret: bytes, label: str) -> bytes:
    """A sub-key for one use (one recipient, one agreement) so pseudonyms never join across."""
    return hmac.new(secret, label.encode("utf-8"), hashlib.sha256).digest()
