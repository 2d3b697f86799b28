"""Keys, signatures and keyed pseudonyms, all through the `cryptography` package."""

from accord.core.crypto.canonical import canonical_json
from accord.core.crypto.keys import (
    SigningKey,
    load_private_key,
    load_public_key,
    public_key_from_text,
    verify_signature,
)
from accord.core.crypto.pseudonyms import keyed_pseudonym

__all__ = [
    "SigningKey",
    "canonical_json",
    "keyed_pseudonym",
    "load_private_key",
    "load_public_key",
    "public_key_from_text",
    "verify_signature",
]
