"""Who may call what: the role checks shared by the API and the web pages.

Roles come from the catalogue (``analyst``, ``data-owner``, ``ig-lead``, ``admin``). A user acts
for one member; data owners and IG leads act on their own member's data and agreements only.
The services still enforce their own rules (an agreement checks who may sign it); these checks
refuse early, with a reason, before a service is called.
"""

from __future__ import annotations

from accord.catalogue.models import User
from accord.errors import PermissionDenied


def require_role(user: User, roles: tuple[str, ...], action: str) -> None:
    """Refuse unless ``user`` holds one of ``roles``.

    Examples:
        >>> require_role(user, ("ig-lead",), "sign an agreement")  # doctest: +SKIP
    """
    if not any(user.has_role(role) for role in roles):
        needed = " or ".join(roles)
        held = ", ".join(user.roles) or "none"
        raise PermissionDenied(
            f"To {action} you need the {needed} role; {user.email} has {held}",
        )


def require_member(user: User, member: str, roles: tuple[str, ...], action: str) -> None:
    """Refuse unless ``user`` acts for ``member`` and holds one of ``roles`` there."""
    require_role(user, roles, action)
    if user.member != member:
        raise PermissionDenied(
            f"To {action} you must act for {member}; {user.email} acts for {user.member}, "
            "and a member's data is managed only by its own people",
        )


def require_admin(user: User, action: str) -> None:
    require_role(user, ("admin",), action)


def may_manage_data(user: User, member: str) -> bool:
    """Whether ``user`` may upload to and see the quarantine of ``member``'s datasets."""
    return user.member == member and (user.has_role("data-owner") or user.has_role("admin"))


def manage_data(user: User, member: str, action: str) -> None:
    require_member(user, member, ("data-owner", "admin"), action)
