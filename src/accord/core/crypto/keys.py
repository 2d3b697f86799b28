"""Ed25519 signing keys for the trust and its members."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from accord.core.crypto.files import write_private, write_public
from accord.errors import InvalidInput


@dataclass(frozen=True)
class SigningKey:
    """A private Ed25519 key with helpers to sign and to publish its public half."""

    private: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def public_text(self) -> str:
        """The public key as text (base64 of the 32 raw bytes) for storing and printing."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")

    def private_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> bytes:
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def save(self, private_path: Path, public_path: Path | None = None) -> None:
        write_private(private_path, self.private_pem())
        if public_path is not None:
            write_public(public_path, self.public_pem())


def load_private_key(path: Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"Cannot read the private key in {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} does not hold an Ed25519 private key")
    return SigningKey(key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = Path(path).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        return public_key_from_text(data.decode("ascii").strip())
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{path} does not hold an Ed25519 public key")
    return key


def public_key_from_text(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except ValueError as exc:
        raise InvalidInput(f"Not an Ed25519 public key: {text[:16]}…") from exc


def verify_signature(public_key: Ed25519PublicKey | str, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``data``."""
    key = public_key_from_text(public_key) if isinstance(public_key, str) else public_key
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
