"""Who may call what: the role checks every interface asks before calling a service.

Roles come from the catalogue (``analyst``, ``data-owner``, ``ig-lead``, ``admin``). A user acts
for one member; data owners and IG leads act on their own member's data and agreements only.
The services still enforce their own rules (an agreement checks who may sign it); these checks
refuse early, with a reason, before a service is called.
"""

from __future__ import annotations

from collections.abc import Sequence

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


# -- linkage -------------------------------------------------------------------------------------
# Linkage shows people's identifiers side by side, so reviewing is for those who answer for the
# data: the data owners of the agreement's controllers, and the trust's administrators. Analysts
# see how the linkage went (counts, thresholds, the weights chart) but not the records. A member
# that is not a party to the agreement sees nothing of its linkage.

LINKAGE_REVIEWER_ROLES = ("data-owner",)


def may_see_linkage(user: User, controllers: Sequence[str], recipients: Sequence[str]) -> bool:
    """Whether ``user`` may see an agreement's linkage status: an admin, or anyone acting for a
    party (controller or recipient) to it."""
    return user.has_role("admin") or user.member in controllers or user.member in recipients


def see_linkage(
    user: User, agreement_id: str, controllers: Sequence[str], recipients: Sequence[str]
) -> None:
    if not may_see_linkage(user, controllers, recipients):
        parties = ", ".join(sorted({*controllers, *recipients})) or "none"
        raise PermissionDenied(
            f"The linkage of {agreement_id} is seen only by its parties ({parties}) and the "
            f"trust's administrators; {user.email} acts for {user.member}",
        )


def may_review_linkage(user: User, controllers: Sequence[str]) -> bool:
    """Whether ``user`` may run an agreement's linkage, see its review queue and the records of
    a pair, and accept or reject pairs: an admin, or a data owner of one of its controllers."""
    if user.has_role("admin"):
        return True
    return user.member in controllers and any(user.has_role(r) for r in LINKAGE_REVIEWER_ROLES)


def review_linkage(user: User, agreement_id: str, controllers: Sequence[str], action: str) -> None:
    """Refuse unless ``user`` may review the linkage of ``agreement_id`` (see
    ``may_review_linkage``).

    Examples:
        >>> review_linkage(user, "fsm-camden-islington", ["camden", "islington"],
        ...                "accept or reject a pair")  # doctest: +SKIP
    """
    if may_review_linkage(user, controllers):
        return
    if user.member not in controllers:
        raise PermissionDenied(
            f"To {action} you must be a data owner of a controller of {agreement_id} "
            f"({', '.join(controllers) or 'none'}) or an admin; {user.email} acts for "
            f"{user.member}",
        )
    raise PermissionDenied(
        f"To {action} you need the data-owner or admin role: linkage review shows people's "
        f"identifiers; {user.email} has {', '.join(user.roles) or 'none'}",
    )
