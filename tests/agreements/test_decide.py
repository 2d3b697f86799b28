"""The access decision: default deny, deny wins, reasons in plain words, deciding policy ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accord import Trust
from accord.agreements.cedar import DEFAULT_DENY
from accord.core.store.models import EventRow
from accord.errors import PermissionDenied

from .conftest import activate, analyst, ig, template

FSM = "fsm-camden-islington"


@pytest.fixture
def stories(sqlite_pop: Trust) -> Trust:
    for name in ("fsm", "vps", "homelessness"):
        activate(sqlite_pop, template(name))
    return sqlite_pop


def decide(
    trust: Trust,
    user: str,
    fields: dict[str, set[str]],
    purpose: str = "fsm-support",
    agreement: str = FSM,
):  # type: ignore[no-untyped-def]
    return trust.agreements.decide(user, agreement, purpose, fields)


def test_a_recipient_analyst_may_read_shared_fields(stories: Trust) -> None:
    d = decide(stories, analyst("islington"), {"camden/school_census": {"given_name"}})
    assert d.allowed
    assert d.policy_ids == [
        f"agreement/{FSM}/v1/islington/use",
        f"agreement/{FSM}/v1/islington/fields",
    ]


def test_a_field_the_agreement_does_not_share_is_refused(stories: Trust) -> None:
    d = decide(stories, analyst("islington"), {"camden/school_census": {"given_name", "sex"}})
    assert not d.allowed
    assert d.reasons == [f"Agreement {FSM} does not share camden/school_census.sex with islington."]
    assert DEFAULT_DENY in d.policy_ids


def test_a_member_that_is_not_a_recipient_is_refused(stories: Trust) -> None:
    d = decide(stories, analyst("camden"), {"camden/school_census": {"given_name"}})
    assert not d.allowed and "camden is not a recipient" in d.reasons[0]


def test_a_role_the_agreement_does_not_allow_is_refused(stories: Trust) -> None:
    d = decide(stories, ig("islington"), {"camden/school_census": {"given_name"}})
    assert not d.allowed and "may not query" in d.reasons[0]


def test_the_wrong_purpose_is_refused(stories: Trust) -> None:
    d = decide(stories, analyst("islington"), {"camden/school_census": {"given_name"}}, "research")
    assert not d.allowed and d.policy_ids == ["trust/wrong-purpose"]


def test_a_deactivated_user_is_refused(stories: Trust) -> None:
    stories.catalogue.deactivate_user(analyst("islington"))
    d = decide(stories, analyst("islington"), {"camden/school_census": {"given_name"}})
    assert not d.allowed and d.policy_ids == ["trust/inactive-user"]


def test_an_unknown_agreement_is_refused(stories: Trust) -> None:
    d = decide(stories, analyst("islington"), {}, agreement="no-such-agreement")
    assert not d.allowed and "no agreement called" in d.reasons[0]


def test_each_vps_recipient_gets_its_own_scope(stories: Trust) -> None:
    grant = stories.agreements.grant(
        analyst("freshmart"), "vps-shielding-food", "shielding-food-support"
    )
    share = grant.datasets["nhs/shielding_list"]
    assert share.row_scope == "needs_food_support = TRUE"
    council = stories.agreements.grant(
        analyst("camden"), "vps-shielding-food", "shielding-food-support"
    )
    assert council.datasets["nhs/shielding_list"].row_scope == "local_authority = 'camden'"
    assert "nhs_number" not in share.fields


def test_individual_support_includes_people_who_opted_out(stories: Trust) -> None:
    grant = stories.agreements.grant(analyst("islington"), FSM, "fsm-support")
    assert grant.opt_out_applies is False


def test_planning_excludes_people_who_opted_out_by_a_recorded_rule(stories: Trust) -> None:
    grant = stories.agreements.grant(
        analyst("camden"), "homelessness-camden", "homelessness-prevention"
    )
    assert grant.opt_out_applies is True
    assert "trust/opted-out-excluded-for-planning" in grant.policy_ids


def test_record_level_referrals_go_only_to_the_roles_allowed(stories: Trust) -> None:
    analyst_grant = stories.agreements.grant(
        analyst("camden"), "homelessness-camden", "homelessness-prevention"
    )
    caseworker = stories.agreements.grant(
        "owner@camden.test", "homelessness-camden", "homelessness-prevention"
    )
    assert not analyst_grant.outputs.record_level and analyst_grant.outputs.aggregate
    assert caseworker.outputs.record_fields == {"camden/housing_register.application_id"}
    assert caseworker.outputs.min_cell_size == 10


def test_the_grant_lists_exactly_the_shared_fields_and_outputs(stories: Trust) -> None:
    grant = stories.agreements.grant(analyst("islington"), FSM, "fsm-support")
    census = grant.datasets["camden/school_census"]
    assert census.fields == {
        "given_name",
        "family_name",
        "date_of_birth",
        "home_address",
        "home_postcode",
        "school_name",
    }
    assert census.row_scope == "home_borough = 'islington' AND fsm_eligible = TRUE"
    assert grant.outputs.record_level and grant.outputs.person_pseudonym
    assert "islington/residents.household_id" in grant.outputs.record_fields
    assert grant.linkage and grant.recipient == "islington"


def test_a_refused_grant_says_why_and_is_logged(stories: Trust) -> None:
    with pytest.raises(PermissionDenied, match="camden is not a recipient"):
        stories.agreements.grant(analyst("camden"), FSM, "fsm-support")
    with stories.store.sessions() as session:
        row = session.scalars(select(EventRow).where(EventRow.kind == "access.decided")).one()
    assert row.agreement == FSM and '"allowed":false' in row.payload


def test_linkage_spec_names_datasets_and_identifier_roles(stories: Trust) -> None:
    refs, roles = stories.agreements.linkage_spec(FSM)
    assert refs == ["camden/school_census", "islington/residents"]
    assert roles == ["given_name", "family_name", "date_of_birth", "postcode", "address"]


def test_linkage_spec_refuses_an_agreement_without_linkage(stories: Trust) -> None:
    with pytest.raises(PermissionDenied, match="does not permit linkage"):
        stories.agreements.linkage_spec("vps-shielding-food")


def test_compiled_policies_validate_against_the_cedar_schema(stories: Trust) -> None:
    engine = stories.agreements.engine()
    assert f'@id("agreement/{FSM}/v1/islington/fields")' in engine.policy_text
    assert "trust/expired" in engine.reasons
