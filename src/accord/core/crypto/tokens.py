"""API tokens: shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "acc_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # Tokens carry 256 bits of entropy, so a fast hash is enough; a slow KDF adds nothing.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
