"""A small FSM world: the synthetic members, Camden's census ingested, the FSM agreement active."""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from accord import Trust
from tests.agreements.conftest import activate, populate, template

ADMIN = "operator@accord.test"
FSM_SQL = "SELECT school_name, COUNT(*) AS pupils FROM camden.school_census GROUP BY school_name"
# Islington FSM pupils per school: the last is under the threshold of 10, so it is suppressed.
SCHOOLS = {"Brecknock Primary": 25, "Torriano Junior": 15, "Rhyl Primary": 4}


def census() -> pa.Table:
    rows = []
    n = 0
    for school, count in SCHOOLS.items():
        for borough, fsm, k in (
            ("islington", True, count),
            ("camden", True, 6),
            ("islington", False, 3),
        ):
            for _ in range(k):
                n += 1
                rows.append(
                    {
                        "pupil_id": f"P{n:05d}",
                        "given_name": ["Amira", "Ben", "Chloe", "Dev"][n % 4],
                        "family_name": ["Khan", "Smith", "Nowak", "Okafor"][n % 4],
                        "date_of_birth": date(2014, 1 + n % 12, 1 + n % 28),
                        "sex": "F" if n % 2 else "M",
                        "home_address": f"{n} Example Street",
                        "home_postcode": "N7 9AA",
                        "home_borough": borough,
                        "school_urn": str(100000 + list(SCHOOLS).index(school)),
                        "school_name": school,
                        "year_group": 1 + n % 6,
                        "fsm_eligible": fsm,
                    }
                )
    return pa.Table.from_pylist(rows)


def build_fsm_world(trust: Trust) -> str:
    """Populate ``trust``, ingest the census and activate the FSM agreement; returns its id."""
    populate(trust)
    trust.catalogue.add_user(ADMIN, "islington", ["admin"])
    trust.ingest.ingest("camden/school_census", census())
    fsm = template("fsm")
    activate(trust, fsm)
    return fsm.id
