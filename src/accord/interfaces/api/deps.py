"""What routes declare they need: the trust, the signed-in user, a page of a list."""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accord.catalogue.models import User
from accord.errors import NotAuthenticated
from accord.interfaces.api.pagination import PageParams, page_params
from accord.trust import Trust

_bearer = HTTPBearer(auto_error=False, description="A user's API token (acc_...)")


def get_trust(request: Request) -> Trust:
    """The trust this server runs on (set by ``create_app``)."""
    return request.app.state.trust


def current_user(
    request: Request,
    trust: Annotated[Trust, Depends(get_trust)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    """The active user whose bearer token came with the request."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated(
            "Send your API token as 'Authorization: Bearer acc_...'; an admin can issue one with "
            "`accord user add`"
        )
    user = trust.catalogue.authenticate(credentials.credentials)
    request.state.user = user.email  # for the request log
    return user


ACTING_CACHE_SIZE = 256


def acting_as(request: Request, trust: Trust, email: str) -> Trust:
    """``trust.acting_as(email)``, kept per user so its services keep their caches warm.

    A fresh Trust per request would rebuild every service (the query engine and its cache of
    prepared views among them) on each call.
    """
    cache: OrderedDict[str, Trust] = request.app.state.acting
    with request.app.state.acting_lock:
        acting = cache.get(email)
        if acting is None:
            acting = cache[email] = trust.acting_as(email)
            if len(cache) > ACTING_CACHE_SIZE:
                cache.popitem(last=False)
        else:
            cache.move_to_end(email)
        return acting


def acting_trust(
    request: Request,
    trust: Annotated[Trust, Depends(get_trust)],
    user: Annotated[User, Depends(current_user)],
) -> Trust:
    """The trust recording the signed-in user as the actor of every event."""
    return acting_as(request, trust, user.email)


TrustDep = Annotated[Trust, Depends(get_trust)]
UserDep = Annotated[User, Depends(current_user)]
ActingTrust = Annotated[Trust, Depends(acting_trust)]
PageDep = Annotated[PageParams, Depends(page_params)]
