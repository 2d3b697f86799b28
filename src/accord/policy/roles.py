"""Who may do what: the role checks the services make before they act.

Roles come from the catalogue (``analyst``, ``data-owner``, ``ig-lead``, ``admin``). A user acts
for one member; data owners and IG leads act on their own member's data and agreements only.
The services (``trust.catalogue``, ``trust.ingest``, ``trust.agreements``, ``trust.linkage``,
``trust.audit``) take the acting user and call these checks themselves, so the CLI, the API and the
web get one rule; every refusal says why.

Besides the catalogue's users there is one more actor: the trust operator (:class:`Operator`),
whoever runs Accord on the trust's own machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field

from accord.catalogue.models import User
from accord.core.store.base import utcnow
from accord.errors import PermissionDenied

OPERATOR_PREFIX = "operator:"


class Operator(User):
    """The trust operator: the person running Accord on the trust's own machine.

    They hold the trust's home folder, whose keys and metadata database are owner-only files, so
    nothing a role check could refuse is out of their reach; pretending otherwise would only hide
    who acted. The operator therefore acts with the ``admin`` role, for no member (so may not
    sign an agreement for a member, nor manage a member's data as its data owner), and is recorded
    in the log under their own name, ``operator:LOGIN`` (or ``operator:`` and the ``--actor``
    given). Services fall back to the operator only when no user is given: the CLI without
    ``--as``, scripts and the demo. The API and web always pass the signed-in user.

    Examples:
        >>> Operator.named("alice").email
        'operator:alice'
        >>> Operator.named("operator:alice").has_role("admin")
        True
    """

    member: str = ""
    roles: list[str] = Field(default_factory=lambda: ["admin"])
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def named(cls, actor: str) -> Operator:
        """The operator recorded as ``actor`` (prefixed ``operator:`` unless it already is)."""
        name = actor if actor.startswith(OPERATOR_PREFIX) else OPERATOR_PREFIX + actor
        return cls(email=name)


def is_operator(user: User) -> bool:
    return isinstance(user, Operator)


def _active(user: User) -> None:
    if not user.active:
        raise PermissionDenied(f"{user.email} is deactivated and may not act in this trust")


def require_role(user: User, roles: tuple[str, ...], action: str) -> None:
    """Refuse unless ``user`` is active and holds one of ``roles``.

    Examples:
        >>> require_role(user, ("ig-lead",), "sign an agreement")  # doctest: +SKIP
    """
    _active(user)
    if not any(user.has_role(role) for role in roles):
        needed = " or ".join(roles)
        held = ", ".join(user.roles) or "none"
        raise PermissionDenied(
            f"To {action} you need the {needed} role; {user.email} has {held}",
        )


def require_admin(user: User, action: str) -> None:
    require_role(user, ("admin",), action)


# -- agreements ----------------------------------------------------------------------------------
# An agreement is drafted by those who answer for information governance; it binds a member only
# once that member's IG lead signs it, so proposing is open to any IG lead (and the admins).

PROPOSER_ROLES = ("ig-lead", "admin")


def propose_agreement(user: User) -> None:
    require_role(user, PROPOSER_ROLES, "propose an agreement")


def may_sign_agreement(user: User, controllers: Sequence[str]) -> bool:
    """Whether ``user`` may sign for their member an agreement with these ``controllers`` (see
    ``sign_agreement``); the web shows the signing form only then."""
    return user.active and user.has_role("ig-lead") and user.member in controllers


def sign_agreement(user: User, agreement_id: str, controllers: Sequence[str]) -> None:
    """Refuse unless ``user`` is an IG lead of a controller of the agreement: a signature binds
    the signer's member, so nobody else may give it (not an admin, not the trust operator)."""
    _active(user)
    if not user.has_role("ig-lead"):
        raise PermissionDenied(
            f"{user.email} cannot sign: only a user with the ig-lead role may sign for "
            f"{user.member or 'a member'}."
        )
    if user.member not in controllers:
        raise PermissionDenied(
            f"{user.member} is not a controller under agreement {agreement_id}, so "
            f"{user.email} cannot sign it (controllers: {', '.join(controllers)})."
        )


def revoke_agreement(user: User, agreement_id: str, controllers: Sequence[str]) -> None:
    """Refuse unless ``user`` is an admin or an IG lead of one of the agreement's controllers."""
    _active(user)
    if user.has_role("admin"):
        return
    if user.has_role("ig-lead") and user.member in controllers:
        return
    raise PermissionDenied(
        f"{user.email} may not revoke {agreement_id}: only an ig-lead of a controller "
        f"({', '.join(controllers) or 'none'}) or an admin may; {user.email} acts for "
        f"{user.member or 'no member'} with {', '.join(user.roles) or 'no role'}."
    )


# -- linkage -------------------------------------------------------------------------------------
# Linkage shows people's identifiers side by side, so reviewing is for those who answer for the
# data: the data owners of the agreement's controllers, and the trust's administrators. Analysts
# see how the linkage went (counts, thresholds, the weights chart) but not the records. A member
# that is not a party to the agreement sees nothing of its linkage.

LINKAGE_REVIEWER_ROLES = ("data-owner",)


def may_see_linkage(user: User, controllers: Sequence[str], recipients: Sequence[str]) -> bool:
    """Whether ``user`` may see an agreement's linkage status: an admin, or anyone acting for a
    party (controller or recipient) to it."""
    if not user.active:
        return False
    return user.has_role("admin") or user.member in controllers or user.member in recipients


def see_linkage(
    user: User, agreement_id: str, controllers: Sequence[str], recipients: Sequence[str]
) -> None:
    _active(user)
    if not may_see_linkage(user, controllers, recipients):
        parties = ", ".join(sorted({*controllers, *recipients})) or "none"
        raise PermissionDenied(
            f"The linkage of {agreement_id} is seen only by its parties ({parties}) and the "
            f"trust's administrators; {user.email} acts for {user.member or 'no member'}",
        )


def may_review_linkage(user: User, controllers: Sequence[str]) -> bool:
    """Whether ``user`` may run an agreement's linkage, see its review queue and the records of
    a pair, and accept or reject pairs: an admin, or a data owner of one of its controllers."""
    if not user.active:
        return False
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
    _active(user)
    if may_review_linkage(user, controllers):
        return
    if user.member not in controllers:
        raise PermissionDenied(
            f"To {action} you must be a data owner of a controller of {agreement_id} "
            f"({', '.join(controllers) or 'none'}) or an admin; {user.email} acts for "
            f"{user.member or 'no member'}",
        )
    raise PermissionDenied(
        f"To {action} you need the data-owner or admin role: linkage review shows people's "
        f"identifiers; {user.email} has {', '.join(user.roles) or 'none'}",
    )


def link_other_datasets(user: User, agreement_id: str) -> None:
    """Linking datasets other than an agreement's own (a trust being set up, a test) bypasses
    the agreement, so only an admin may."""
    require_admin(user, f"link datasets other than those {agreement_id} shares")


def export_linkage(user: User, agreement_id: str) -> None:
    """Exporting person keys lets them leave the trust: administrators only."""
    _active(user)
    if not user.has_role("admin"):
        raise PermissionDenied(
            f"Exporting the person keys of {agreement_id} is for the trust's administrators "
            f"only: {user.email} has {', '.join(user.roles) or 'no role'}"
        )


# -- catalogue -----------------------------------------------------------------------------------
# Members and users are the trust's own set-up, so the trust's administrators (and the operator)
# manage them; everyone sees their own member's users. A member's datasets — registering or
# changing a contract, uploading a version, seeing the rows quarantined with their raw values —
# are looked after by that member's own data owners and administrators, and by the operator, who
# holds the trust's files anyway. An administrator of another member may not: quarantined rows show
# a member's raw personal data, which only its own people see.

DATA_KEEPER_ROLES = ("data-owner", "admin")


def manage_people(user: User, action: str) -> None:
    """Refuse unless ``user`` is an admin: adding a member or a user, deactivating a user,
    rotating someone else's token.

    Examples:
        >>> manage_people(user, "add a member")  # doctest: +SKIP
    """
    require_admin(user, action)


def rotate_token(user: User, email: str) -> None:
    """Anyone active may rotate their own token; only an admin someone else's."""
    _active(user)
    if email.strip().lower() != user.email:
        manage_people(user, "rotate another user's token")


def users_seen(user: User, member: str | None) -> str | None:
    """The member whose users ``user`` may list when asking for ``member`` (None: every
    member's): an admin sees any member's users, anyone else only their own member's."""
    _active(user)
    if user.has_role("admin"):
        return member
    if member is None or member == user.member:
        return user.member
    raise PermissionDenied(
        f"{user.email} acts for {user.member or 'no member'} and may list only its users; "
        f"the users of {member} are listed by an admin",
    )


def may_look_after_data(user: User, member: str) -> bool:
    """Whether ``user`` may register, upload to and see the quarantine of ``member``'s datasets:
    the operator, or a data owner or admin acting for ``member``."""
    if not user.active:
        return False
    if is_operator(user):
        return True
    return user.member == member and any(user.has_role(r) for r in DATA_KEEPER_ROLES)


def look_after_data(user: User, member: str, action: str) -> None:
    """Refuse unless ``user`` may look after ``member``'s datasets, saying why.

    Examples:
        >>> look_after_data(user, "camden", "upload data to camden/pupils")  # doctest: +SKIP
    """
    _active(user)
    if may_look_after_data(user, member):
        return
    if user.member != member:
        raise PermissionDenied(
            f"To {action} you must be a data owner or admin acting for {member}; {user.email} "
            f"acts for {user.member or 'no member'}, and a member's data is looked after only by "
            "its own people",
        )
    raise PermissionDenied(
        f"To {action} you need the data-owner or admin role; {user.email} has "
        f"{', '.join(user.roles) or 'none'}",
    )


# -- audit log -----------------------------------------------------------------------------------
# Anyone signed in may read and verify the log; signing a checkpoint and exporting the whole log
# (every entry leaves the trust) are for the trust's administrators.


def administer_audit(user: User, action: str) -> None:
    """Refuse unless ``user`` is an admin (or the operator).

    Examples:
        >>> administer_audit(user, "export the audit log")  # doctest: +SKIP
    """
    require_admin(user, action)
