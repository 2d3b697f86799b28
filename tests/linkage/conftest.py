"""Fixtures of the linkage tests: a small population and two boroughs' extracts of it."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pytest

from accord.catalogue.contract import Contract
from accord.linkage import LinkConfig, LinkSource
from tests.linkage.people import (
    RESIDENTS_CONTRACT,
    SCHOOL_CONTRACT,
    Person,
    extract,
    make_people,
)

# Small budgets: the test data are a few hundred records.
FAST = LinkConfig(u_max_pairs=2e5, review_floor=0.2)


@dataclass
class Boroughs:
    people: list[Person]
    school: pa.Table
    residents: pa.Table
    truth: dict[tuple[str, str], str]  # (dataset, key) -> person id

    def sources(self) -> list[LinkSource]:
        return [
            LinkSource("camden/pupils", Contract.model_validate(SCHOOL_CONTRACT), self.school),
            LinkSource(
                "islington/residents", Contract.model_validate(RESIDENTS_CONTRACT), self.residents
            ),
        ]


def make_boroughs(households: int = 220, seed: int = 3, errors: float = 0.06) -> Boroughs:
    people = make_people(households, seed)
    school, truth_s = extract(
        people, seed + 1, share=0.7, errors=errors, moved_side=False, style="school"
    )
    residents, truth_r = extract(
        people, seed + 2, share=0.7, errors=errors, moved_side=True, style="residents"
    )
    truth = {("camden/pupils", k): v for k, v in truth_s.items()}
    truth.update({("islington/residents", k): v for k, v in truth_r.items()})
    return Boroughs(people, school, residents, truth)


@pytest.fixture(scope="session")
def boroughs() -> Boroughs:
    return make_boroughs()
