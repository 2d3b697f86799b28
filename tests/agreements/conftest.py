"""Fixtures: a trust with the synthetic members, their users and small dataset contracts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from accord import Trust
from accord.agreements.model import Agreement, parse_agreement
from accord.agreements.templates import render_template
from accord.catalogue.contract import Contract, load_contract

CONTRACTS = Path(__file__).with_name("contracts")
MEMBERS = {
    "camden": "London Borough of Camden",
    "islington": "London Borough of Islington",
    "hackney": "London Borough of Hackney",
    "haringey": "London Borough of Haringey",
    "nhs": "NHS England",
    "probation": "HM Prison and Probation Service",
    "freshmart": "FreshMart Supermarkets",
}
TODAY = date.today()


def ig(member: str) -> str:
    return f"ig@{member}.test"


def analyst(member: str) -> str:
    return f"analyst@{member}.test"


@lru_cache(maxsize=1)
def contracts() -> tuple[Contract, ...]:
    """The test contracts, parsed once (Frictionless validation is slow)."""
    return tuple(load_contract(p) for p in sorted(CONTRACTS.glob("*.yaml")))


def populate(trust: Trust) -> Trust:
    for name, title in MEMBERS.items():
        trust.catalogue.add_member(name, title)
        trust.catalogue.add_user(ig(name), name, ["ig-lead"])
        trust.catalogue.add_user(analyst(name), name, ["analyst"])
    trust.catalogue.add_user("owner@camden.test", "camden", ["data-owner"])
    trust.catalogue.add_user("admin@islington.test", "islington", ["admin"])
    for contract in contracts():
        trust.catalogue.register_dataset(contract)
    return trust


@pytest.fixture
def pop(trust: Trust) -> Trust:
    """A trust (SQLite and PostgreSQL) with members, users and contracts."""
    return populate(trust)


@pytest.fixture
def sqlite_pop(sqlite_trust: Trust) -> Trust:
    return populate(sqlite_trust)


def template(name: str, **changes: object) -> Agreement:
    """A template as a model, with top-level changes applied."""
    data = yaml.safe_load(render_template(name, today=TODAY))
    data.update(changes)
    return parse_agreement(data)


@pytest.fixture
def fsm() -> Agreement:
    return template("fsm")


def activate(trust: Trust, agreement: Agreement) -> None:
    """Propose and have every controller sign."""
    trust.agreements.propose(agreement)
    for controller in agreement.controllers:
        trust.agreements.sign(agreement.id, ig(controller))


@pytest.fixture
def active_fsm(pop: Trust, fsm: Agreement) -> Iterator[Trust]:
    activate(pop, fsm)
    yield pop
