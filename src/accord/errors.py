"""One exception hierarchy for the whole trust.

Every error carries a message a person can act on and a stable machine ``code``; the CLI turns it
into a clear message and the API into RFC 9457 problem details, each in one place.
"""

from __future__ import annotations


class AccordError(Exception):
    """Base of every error Accord raises on purpose."""

    code = "accord-error"
    status = 400

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def __str__(self) -> str:
        if not self.details:
            return self.message
        return self.message + "\n" + "\n".join(f"  - {d}" for d in self.details)


class NotFound(AccordError):
    code = "not-found"
    status = 404


class AlreadyExists(AccordError):
    code = "already-exists"
    status = 409


class InvalidInput(AccordError):
    """Input that cannot be accepted as given: a bad contract, file, name or argument."""

    code = "invalid-input"
    status = 422


class Unreadable(InvalidInput):
    """A data file that cannot be read at all; nothing was changed."""

    code = "unreadable-file"


class PermissionDenied(AccordError):
    """A refusal on security grounds; the message says why."""

    code = "permission-denied"
    status = 403


class NotAuthenticated(AccordError):
    code = "not-authenticated"
    status = 401


class IntegrityError(AccordError):
    """Something stored is not what it should be (a broken chain, a forged signature)."""

    code = "integrity-error"
    status = 409
