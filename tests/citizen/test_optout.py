"""Opting out removes a person from later releases under agreements where the national data
opt-out applies (homelessness prevention: planning) and not where it does not (the Vulnerable
Persons Service: individual care and support)."""

from __future__ import annotations

import pytest

from tests.citizen.world import ASKS, HOMELESSNESS, VPS, World

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result")

FRESHMART_LIST = 2  # VPS: the supermarket's list (every shielding person needing food)
CAMDEN_LIST, ISLINGTON_LIST = 0, 1
AE_TABLE = 4  # homelessness: A&E attendances table (every attendance since 2024)


def _in_both(world: World) -> tuple[str, int]:
    """A person in the A&E table and in one VPS list, and that list."""
    ae = world.touched(world.releases[AE_TABLE])
    for ask in (CAMDEN_LIST, ISLINGTON_LIST, FRESHMART_LIST):
        both = sorted(ae & world.touched(world.releases[ask]))
        if both:
            return both[0], ask
    raise AssertionError("the world has nobody both shielding and at A&E")


def test_an_opt_out_leaves_the_person_out_of_later_planning_answers_only(world: World) -> None:
    person, vps_ask = _in_both(world)
    assert ASKS[vps_ask][1] == VPS and ASKS[AE_TABLE][1] == HOMELESSNESS
    world.trust.citizen.opt_out(world.identifiers(person, names=False), channel="test")

    planning = world.ask(AE_TABLE)
    care = world.ask(vps_ask)

    assert person not in world.touched(planning)
    assert person in world.touched(care)
    # and the rest of the answers are unchanged
    assert world.touched(planning) == world.touched(world.releases[AE_TABLE]) - {person}


def test_the_report_shows_the_opt_out(world: World) -> None:
    person, _ = _in_both(world)
    world.trust.citizen.opt_out(world.identifiers(person, names=False), channel="test")
    report = world.trust.citizen.report(world.identifiers(person), client="test:opt-out")
    assert report.opted_out


def test_an_opt_out_by_name_reaches_records_without_an_nhs_number(world: World) -> None:
    # Housing register and probation hold no NHS number: only linkage can find them.
    housing = world.touched(world.releases[3])
    person = sorted(housing)[0]
    world.trust.citizen.opt_out(world.identifiers(person, nhs=False), channel="test")
    again = world.ask(3)
    assert person not in world.touched(again)
