"""The report lists exactly the releases that used a person's records, checked against the
synthetic population's ground truth, and exactly the datasets holding them."""

from __future__ import annotations

import random

import pytest

from tests.citizen.world import HOMELESSNESS, VPS, World

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")


def _truth(world: World) -> dict[str, set[str]]:
    """true person -> releases that used their records."""
    used: dict[str, set[str]] = {}
    for release_id in world.releases:
        for person in world.touched(release_id):
            used.setdefault(person, set()).add(release_id)
    return used


def _sample(world: World, n: int = 25) -> list[str]:
    people = sorted(_truth(world))
    return random.Random(5).sample(people, min(n, len(people)))


def test_the_report_lists_exactly_the_releases_that_used_each_person(world: World) -> None:
    truth = _truth(world)
    for person in _sample(world):
        report = world.trust.citizen.report(world.identifiers(person), client=f"test:{person}")
        assert {u.release_id for u in report.uses} == truth[person], person


def test_the_report_lists_exactly_the_datasets_holding_the_person(world: World) -> None:
    for person in _sample(world, 10):
        expected = {d for (d, _), p in world.truth.items() if p == person}
        report = world.trust.citizen.report(world.identifiers(person), client=f"test:{person}")
        assert {h.dataset for h in report.holdings} == expected, person


def test_name_date_of_birth_and_postcode_find_the_linked_releases(world: World) -> None:
    truth = _truth(world)
    linked = {r["id"] for r in world.trust.queries.releases(HOMELESSNESS)}
    people = [p for p in _sample(world, 40) if truth[p] & linked][:8]
    assert people
    for person in people:
        ids = world.identifiers(person, nhs=False)
        report = world.trust.citizen.report(ids, client=f"test:names:{person}")
        assert {u.release_id for u in report.uses} & linked == truth[person] & linked, person


def test_a_use_says_who_when_why_and_which_fields_in_plain_words(world: World) -> None:
    truth = _truth(world)
    person = next(
        p
        for p in _sample(world, 60)
        if any(r["id"] in truth[p] for r in world.trust.queries.releases(VPS))
    )
    report = world.trust.citizen.report(world.identifiers(person), client="test:words")
    use = next(u for u in report.uses if u.agreement_id == VPS)
    assert use.purpose.startswith("Make sure people told to shield get food")
    assert use.purpose_kind == "individual care or support" and not use.opt_out_applies
    assert use.organisation in {
        "London Borough of Camden",
        "London Borough of Islington",
        "Freshmart Supermarkets Ltd",
    }
    assert use.datasets == ["nhs/shielding_list"]
    assert "nhs/shielding_list.given_name" in use.fields
    assert all(f.startswith("nhs/shielding_list.") for f in use.fields)
    assert use.output == "a list with a line about each person"


def test_a_report_made_of_releases_shows_the_newest_first(world: World) -> None:
    truth = _truth(world)
    person = max(_sample(world, 60), key=lambda p: len(truth[p]))
    report = world.trust.citizen.report(world.identifiers(person), client="test:order")
    times = [u.made_at for u in report.uses]
    assert len(times) >= 2 and times == sorted(times, reverse=True)
