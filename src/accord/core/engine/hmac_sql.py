"""HMAC-SHA256 written in DuckDB SQL (RFC 2104), so keyed hashes run inside the engine.

Used on the trust's side only (never in a caller's sandbox): to match rows against opt-outs kept
as keyed hashes and to turn person keys into recipient pseudonyms, column at a time, with the
same result as :func:`hmac.new`.
"""

from __future__ import annotations

BLOCK = 64


def hmac_sha256_sql(key: bytes, expression: str, *, length: int = 64) -> str:
    """A SQL expression: the hex HMAC-SHA256 of the text ``expression`` under ``key``.

    Examples:
        >>> hmac_sha256_sql(b"k", "'x'")[:20]
        "left(sha256(unhex('"
    """
    if len(key) > BLOCK:
        import hashlib

        key = hashlib.sha256(key).digest()
    padded = key.ljust(BLOCK, b"\0")
    inner = bytes(b ^ 0x36 for b in padded).hex()
    outer = bytes(b ^ 0x5C for b in padded).hex()
    value = (
        f"sha256(unhex('{outer}') || unhex(sha256(unhex('{inner}') || "
        f"encode(CAST({expression} AS VARCHAR)))))"
    )
    return f"left({value}, {length})"
