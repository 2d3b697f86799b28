"""Signing in on the web: a token once, then a signed session cookie; CSRF on every form.

The cookie keeps the user's token (signed, HttpOnly, SameSite=Lax) and the token is checked on
every request, so rotating or deactivating a token ends its web sessions at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from accord.catalogue.models import User
from accord.errors import AccordError, NotAuthenticated, PermissionDenied
from accord.interfaces.api.deps import get_trust
from accord.trust import Trust

SESSION_COOKIE = "accord_session"


class SignInRequired(AccordError):
    code = "sign-in-required"
    status = 401


def session_secret(trust: Trust) -> str:
    """A key for signing cookies, derived from the trust's own secret (no new file)."""
    return hmac.new(trust.pseudonym_secret, b"accord web session", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    if "session" not in request.scope:
        return ""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form that did not come from one of our own pages."""
    expected = request.session.get("csrf")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise PermissionDenied(
            "This form has expired or did not come from Accord: go back, reload the page and "
            "try again"
        )


def sign_in(request: Request, trust: Trust, token: str) -> User:
    user = trust.catalogue.authenticate(token.strip())
    request.session.clear()
    request.session["token"] = token.strip()
    request.session["csrf"] = secrets.token_urlsafe(24)
    return user


def sign_out(request: Request) -> None:
    request.session.clear()


def web_user(request: Request, trust: Annotated[Trust, Depends(get_trust)]) -> User:
    """The signed-in user of a page; sends anyone else to the sign-in page."""
    token = request.session.get("token")
    if not token:
        raise SignInRequired("Sign in to continue")
    try:
        user = trust.catalogue.authenticate(token)
    except NotAuthenticated as exc:
        request.session.clear()
        raise SignInRequired("Your token no longer works: sign in with a new one") from exc
    request.state.web_user = user
    request.state.user = user.email
    return user


WebUser = Annotated[User, Depends(web_user)]
