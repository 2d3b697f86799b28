"""Ed25519 signatures over an agreement version's canonical JSON, and detached signature files.

A controller can sign on its own machine (``accord agreement sign FILE --key KEY --out SIG``) and
upload only the signature, so its private key never has to leave it. The trust verifies every
signature with public keys alone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from accord.agreements.model import Agreement
from accord.core.crypto.keys import SigningKey, load_private_key, verify_signature
from accord.errors import InvalidInput


class DetachedSignature(BaseModel):
    """What a controller uploads: which agreement content it signed, and the signature."""

    model_config = ConfigDict(extra="forbid")
    format: str = "accord-agreement-signature/1"
    agreement: str
    sha256: str
    public_key: str
    signature: str  # base64 of the 64-byte Ed25519 signature

    def signature_bytes(self) -> bytes:
        return decode_signature(self.signature)


def sign_bytes(key: SigningKey, data: bytes) -> str:
    """Base64 Ed25519 signature of ``data``."""
    return base64.b64encode(key.sign(data)).decode("ascii")


def decode_signature(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("The signature is not valid base64") from exc
    if len(raw) != 64:
        raise InvalidInput("The signature is not an Ed25519 signature (64 bytes expected)")
    return raw


def verify(public_key: str, signature_b64: str, data: bytes) -> bool:
    """True when ``signature_b64`` is ``public_key``'s signature of exactly ``data``."""
    try:
        raw = decode_signature(signature_b64)
    except InvalidInput:
        return False
    try:
        return verify_signature(public_key, raw, data)
    except InvalidInput:
        return False


def sign_agreement(agreement: Agreement, key: SigningKey) -> DetachedSignature:
    """Sign ``agreement``'s canonical JSON with a controller's private key.

    Examples:
        >>> sig = sign_agreement(agreement, load_private_key(Path("camden.pem")))  # doctest: +SKIP
        >>> write_detached(sig, Path("camden.sig"))  # doctest: +SKIP
    """
    data = agreement.canonical()
    return DetachedSignature(
        agreement=agreement.id,
        sha256=hashlib.sha256(data).hexdigest(),
        public_key=key.public_text(),
        signature=sign_bytes(key, data),
    )


def sign_file(agreement: Agreement, key_file: Path) -> DetachedSignature:
    return sign_agreement(agreement, load_private_key(key_file))


def write_detached(signature: DetachedSignature, path: Path) -> None:
    path.write_text(json.dumps(signature.model_dump(), indent=2) + "\n", encoding="utf-8")


def read_detached(path: Path) -> DetachedSignature:
    try:
        data: Any = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"Cannot read the signature file {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path} is not a signature file (not JSON)") from exc
    try:
        return DetachedSignature.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(f"{path} is not an Accord agreement signature file") from exc
