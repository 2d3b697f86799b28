"""Members, users and their API tokens.

The catalogue service decides who may do what (``accord.policy.roles``: admins add members and
users and deactivate users; anyone rotates their own token; a non-admin lists their own member's
users); each route passes the signed-in user and the service refuses, saying why.
"""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from accord.catalogue.models import ROLES, Member, User
from accord.interfaces.api.deps import PageDep, TrustDep, UserDep
from accord.interfaces.api.pagination import Page
from accord.interfaces.api.problems import PROBLEM_RESPONSES

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
def add_member(body: NewMember, trust: TrustDep, user: UserDep) -> Member:
    return trust.catalogue.add_member(body.name, body.title, actor=user)


@router.get("/members/{member}", response_model=Member, summary="One member")
def get_member(member: str, trust: TrustDep, user: UserDep) -> Member:
    return trust.catalogue.get_member(member)


@router.get(
    "/users", response_model=Page[User], summary="Users (an admin sees all, others their member's)"
)
def list_users(trust: TrustDep, user: UserDep, page: PageDep) -> Page[User]:
    return page.of(trust.catalogue.list_users(actor=user))


@router.post(
    "/users",
    response_model=IssuedToken,
    status_code=status.HTTP_201_CREATED,
    summary="Add a user and issue their token (shown once)",
)
def add_user(body: NewUser, trust: TrustDep, user: UserDep) -> IssuedToken:
    new_user, token = trust.catalogue.add_user(body.email, body.member, body.roles, actor=user)
    return IssuedToken(user=new_user, token=token)


@router.post(
    "/users/{email}/token",
    response_model=IssuedToken,
    summary="Rotate a user's token (your own, or anyone's as an admin); the old one stops working",
)
def rotate_token(email: str, trust: TrustDep, user: UserDep) -> IssuedToken:
    token = trust.catalogue.rotate_token(email, actor=user)
    return IssuedToken(user=trust.catalogue.get_user(email), token=token)


@router.delete(
    "/users/{email}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Deactivate a user; their token stops working",
)
def deactivate_user(email: str, trust: TrustDep, user: UserDep) -> None:
    trust.catalogue.deactivate_user(email, actor=user)
