"""Members, users and their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from accord.catalogue.models import ROLES, Member, User
from accord.interfaces.api.deps import ActingTrust, PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES
from accord.policy.roles import require_admin

router = APIRouter(tags=["members and users"], responses=PROBLEM_RESPONSES)


class NewMember(BaseModel):
    name: str = Field(
        description="Short name: lower case letters, digits, hyphens", examples=["camden"]
    )
    title: str = Field(examples=["London Borough of Camden"])


class NewUser(BaseModel):
    email: str = Field(examples=["ana@camden.gov.uk"])
    member: str = Field(examples=["camden"])
    roles: list[str] = Field(min_length=1, description=f"Any of {', '.join(ROLES)}")


class IssuedToken(BaseModel):
    """A user's API token. It is shown this once; the trust keeps only its hash."""

    user: User
    token: str


@router.get("/me", response_model=User, summary="The signed-in user")
def me(user: UserDep) -> User:
    return user


@router.get("/members", response_model=Page[Member], summary="Members of the trust")
def list_members(trust: TrustDep, user: UserDep, page: PageDep) -> Page[Member]:
    return page.of(trust.catalogue.list_members())


@router.post(
    "/members", response_model=Member, status_code=status.HTTP_201_CREATED, summary="Add a member"
)
def add_member(body: NewMember, trust: ActingTrust, user: UserDep) -> Member:
    require_admin(user, "add a member")
    return trust.catalogue.add_member(body.name, body.title)


@router.get("/members/{member}", response_model=Member, summary="One member")
def get_member(member: str, trust: TrustDep, user: UserDep) -> Member:
    return trust.catalogue.get_member(member)


@router.get(
    "/users", response_model=Page[User], summary="Users (an admin sees all, others their member's)"
)
def list_users(trust: TrustDep, user: UserDep, page: PageDep) -> Page[User]:
    member = None if user.has_role("admin") else user.member
    return page.of(trust.catalogue.list_users(member))


@router.post(
    "/users",
    response_model=IssuedToken,
    status_code=status.HTTP_201_CREATED,
    summary="Add a user and issue their token (shown once)",
)
def add_user(body: NewUser, trust: ActingTrust, user: UserDep) -> IssuedToken:
    require_admin(user, "add a user")
    new_user, token = trust.catalogue.add_user(body.email, body.member, body.roles)
    return IssuedToken(user=new_user, token=token)


@router.post(
    "/users/{email}/token",
    response_model=IssuedToken,
    summary="Rotate a user's token (your own, or anyone's as an admin); the old one stops working",
)
def rotate_token(email: str, trust: ActingTrust, user: UserDep) -> IssuedToken:
    if email.strip().lower() != user.email:
        require_admin(user, "rotate another user's token")
    token = trust.catalogue.rotate_token(email)
    return IssuedToken(user=trust.catalogue.get_user(email), token=token)


@router.delete(
    "/users/{email}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Deactivate a user; their token stops working",
)
def deactivate_user(email: str, trust: ActingTrust, user: UserDep) -> None:
    require_admin(user, "deactivate a user")
    trust.catalogue.deactivate_user(email)
