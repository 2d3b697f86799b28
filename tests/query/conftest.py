"""A small world for query tests: Camden's school census, Islington as recipient."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from accord import Trust
from accord.policy.grant import AccessGrant, DatasetGrant, OutputRules

CENSUS = "camden/school_census"
BOROUGHS = ["camden", "islington", "hackney"]
CENSUS_CONTRACT = {
    "name": "school_census",
    "owner": "camden",
    "title": "School census (pupils on roll)",
    "schema": {
        "primaryKey": ["upn"],
        "fields": [
            {"name": "upn", "accord": {"category": "personal", "role": "record_id"}},
            {"name": "given_name", "accord": {"category": "personal", "role": "given_name"}},
            {"name": "family_name", "accord": {"category": "personal", "role": "family_name"}},
            {"name": "address", "accord": {"category": "personal", "role": "address"}},
            {"name": "home_borough"},
            {"name": "fsm", "type": "boolean", "accord": {"category": "personal"}},
            {"name": "ethnicity", "accord": {"category": "special-category"}},
            {"name": "age", "type": "integer", "accord": {"category": "personal"}},
            {"name": "age_band"},
            {"name": "attendance", "type": "number", "accord": {"category": "personal"}},
            {"name": "nhs_number", "accord": {"category": "personal", "role": "nhs_number"}},
        ],
    },
}


def _nhs(n: int) -> str:
    # a 10-digit number with a valid modulus-11 check digit
    base = f"{400000000 + n * 7919 % 99999999:09d}"
    while True:
        total = sum(int(d) * (10 - i) for i, d in enumerate(base))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return base + str(check)
        base = f"{int(base) + 1:09d}"


def census_rows(n: int = 300, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        age = rng.randint(5, 16)
        rows.append(
            {
                "upn": f"P{i:05d}",
                "given_name": rng.choice(["Amira", "Ben", "Chloe", "Dev", "Ewa", "Femi"]),
                "family_name": rng.choice(["Khan", "Smith", "Nowak", "Okafor", "Jones"]),
                "address": f"{i} Example Street",
                "home_borough": BOROUGHS[i % 3],
                "fsm": i % 4 == 0,
                "ethnicity": rng.choice(["A", "B", "C"]),
                "age": age,
                "age_band": "5-10" if age <= 10 else "11-16",
                "attendance": round(rng.uniform(80, 100), 1),
                "nhs_number": _nhs(i),
            }
        )
    return pa.Table.from_pylist(rows)


@pytest.fixture
def world(trust: Trust) -> Trust:
    return build_world(trust)


@pytest.fixture
def sworld(sqlite_trust: Trust) -> Trust:
    return build_world(sqlite_trust)


@pytest.fixture(scope="module")
def shared_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trust]:
    """One SQLite world for a whole module of read-only checks (refusals are only logged)."""
    trust = Trust.init(tmp_path_factory.mktemp("world") / "home", actor="tester@accord.test")
    yield build_world(trust)
    trust.close()


def build_world(trust: Trust) -> Trust:
    trust.catalogue.add_member("camden", "London Borough of Camden")
    trust.catalogue.add_member("islington", "London Borough of Islington")
    trust.catalogue.add_member("hackney", "London Borough of Hackney")
    trust.catalogue.add_user("ana@islington.gov.uk", "islington", ["analyst"])
    trust.catalogue.add_user("carl@camden.gov.uk", "camden", ["analyst"])
    trust.catalogue.add_user("hal@hackney.gov.uk", "hackney", ["analyst"])
    trust.catalogue.register_dataset(CENSUS_CONTRACT)
    trust.ingest.ingest(CENSUS, census_rows())
    return trust


def make_grant(**changes: object) -> AccessGrant:
    """Islington's FSM grant over Camden's census: resident FSM pupils, names and addresses."""
    grant = AccessGrant(
        agreement_id="fsm-2026",
        agreement_version=1,
        purpose="fsm-support",
        recipient="islington",
        datasets={
            CENSUS: DatasetGrant(
                dataset=CENSUS,
                fields=frozenset(
                    {
                        "upn",
                        "given_name",
                        "family_name",
                        "address",
                        "home_borough",
                        "fsm",
                        "age",
                        "age_band",
                        "attendance",
                    }
                ),
                row_scope="home_borough = 'islington'",
            )
        },
        outputs=OutputRules(
            record_level=True,
            record_fields=frozenset(
                f"{CENSUS}.{f}" for f in ("upn", "given_name", "family_name", "address")
            ),
            aggregate=True,
        ),
        valid_from=datetime.now(UTC) - timedelta(days=1),
        expires=datetime.now(UTC) + timedelta(days=365),
    )
    return replace(grant, **changes)  # type: ignore[arg-type]


ANA = "ana@islington.gov.uk"
