"""Members, users, datasets and their contracts."""

from accord.catalogue.contract import Category, Contract, FieldSpec, Role, load_contract
from accord.catalogue.models import Dataset, Member, User, Version
from accord.catalogue.service import Catalogue, parse_ref

__all__ = [
    "Catalogue",
    "Category",
    "Contract",
    "Dataset",
    "FieldSpec",
    "Member",
    "Role",
    "User",
    "Version",
    "load_contract",
    "parse_ref",
]
