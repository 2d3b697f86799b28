"""The stories as data: who takes part, what they share, what they ask, what is refused.

Each story is a small value; the runner plays any of them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TITLES = {
    "camden": "London Borough of Camden",
    "islington": "London Borough of Islington",
    "hackney": "London Borough of Hackney",
    "haringey": "London Borough of Haringey",
    "nhs": "NHS England",
    "probation": "HM Prison and Probation Service",
    "freshmart": "Freshmart Supermarkets Ltd",
}


@dataclass(frozen=True)
class Ask:
    """One question a recipient asks, and what the demo expects of the answer."""

    label: str
    user: str
    agreement: str
    purpose: str
    sql: str
    refused: bool = False


@dataclass(frozen=True)
class Story:
    name: str
    title: str
    summary: str
    members: tuple[str, ...]
    # (email, member, roles)
    users: tuple[tuple[str, str, tuple[str, ...]], ...]
    datasets: tuple[str, ...]  # "member/dataset", ingested from the synthetic extracts
    agreements: tuple[tuple[str, str], ...]  # (template, agreement id)
    linked: tuple[str, ...]  # agreements whose records are linked
    asks: tuple[Ask, ...]
    opt_outs: bool = False  # import the national data opt-out list
    citizen_from: str = ""  # the dataset whose first released person is shown a citizen report
    notes: tuple[str, ...] = field(default_factory=tuple)


def _ig(member: str) -> tuple[str, str, tuple[str, ...]]:
    return (f"ig-lead@{member}.example", member, ("ig-lead",))


FSM = Story(
    name="fsm",
    title="Free school meals across borough lines",
    summary=(
        "Camden's schools know which pupils get free school meals; some of those pupils live in "
        "Islington. Islington must find its vulnerable families, so it asks for the list of its "
        "resident FSM families - and gets nothing else."
    ),
    members=("camden", "islington"),
    users=(
        _ig("camden"),
        _ig("islington"),
        ("analyst@islington.example", "islington", ("analyst",)),
    ),
    datasets=("camden/school_census", "islington/residents"),
    agreements=(("fsm", "fsm-camden-islington"),),
    linked=("fsm-camden-islington",),
    asks=(
        Ask(
            label="Islington's resident FSM families (record level)",
            user="analyst@islington.example",
            agreement="fsm-camden-islington",
            purpose="fsm-support",
            sql=(
                "SELECT r.household_id, r.given_name, r.family_name, r.address, r.postcode, "
                "s.school_name\n"
                "FROM camden.school_census AS s\n"
                "JOIN islington.residents AS r ON r.person_key = s.person_key\n"
                "ORDER BY r.household_id, r.family_name"
            ),
        ),
        Ask(
            label="How many of them per school (aggregate, with disclosure control)",
            user="analyst@islington.example",
            agreement="fsm-camden-islington",
            purpose="fsm-support",
            sql=(
                "SELECT school_name, COUNT(*) AS pupils FROM camden.school_census "
                "GROUP BY school_name ORDER BY school_name"
            ),
        ),
        Ask(
            label="Trying to see every Camden pupil's FSM status (refused)",
            user="analyst@islington.example",
            agreement="fsm-camden-islington",
            purpose="fsm-support",
            sql="SELECT given_name, family_name, fsm_eligible FROM camden.school_census",
            refused=True,
        ),
    ),
    citizen_from="camden/school_census",
)

VPS = Story(
    name="vps",
    title="Vulnerable Persons Service",
    summary=(
        "The NHS holds the shielding list. Each council gets name, address and the need-for-food "
        "flag of its own residents; the supermarket gets only what a priority delivery needs. "
        "The national data opt-out does not cover individual care and support, so opted-out "
        "patients are included."
    ),
    members=("nhs", "camden", "islington", "freshmart"),
    users=(
        _ig("nhs"),
        _ig("camden"),
        _ig("islington"),
        _ig("freshmart"),
        ("analyst@camden.example", "camden", ("analyst",)),
        ("analyst@islington.example", "islington", ("analyst",)),
        ("analyst@freshmart.example", "freshmart", ("analyst",)),
    ),
    datasets=("nhs/shielding_list", "nhs/national_opt_out"),
    agreements=(("vps", "vps-shielding-food"),),
    linked=(),
    opt_outs=True,
    asks=(
        Ask(
            label="Camden's food-parcel list",
            user="analyst@camden.example",
            agreement="vps-shielding-food",
            purpose="shielding-food-support",
            sql=(
                "SELECT given_name, family_name, address, postcode, needs_food_support "
                "FROM nhs.shielding_list ORDER BY postcode, family_name"
            ),
        ),
        Ask(
            label="Islington's food-parcel list",
            user="analyst@islington.example",
            agreement="vps-shielding-food",
            purpose="shielding-food-support",
            sql=(
                "SELECT given_name, family_name, address, postcode, needs_food_support "
                "FROM nhs.shielding_list ORDER BY postcode, family_name"
            ),
        ),
        Ask(
            label="Freshmart's priority delivery list",
            user="analyst@freshmart.example",
            agreement="vps-shielding-food",
            purpose="shielding-food-support",
            sql=(
                "SELECT given_name, family_name, address, postcode FROM nhs.shielding_list "
                "ORDER BY postcode"
            ),
        ),
        Ask(
            label="Freshmart asking for dates of birth (refused)",
            user="analyst@freshmart.example",
            agreement="vps-shielding-food",
            purpose="shielding-food-support",
            sql="SELECT given_name, family_name, date_of_birth FROM nhs.shielding_list",
            refused=True,
        ),
    ),
    citizen_from="nhs/shielding_list",
)

HOMELESSNESS = Story(
    name="homelessness",
    title="Homelessness prevention",
    summary=(
        "A&E attendances (NHS), probation caseload and Camden's housing register are linked to "
        "find risk patterns. Analysts get aggregate tables with small numbers suppressed and "
        "opted-out people excluded (planning); caseworkers get record-level referrals only as "
        "the agreement allows."
    ),
    members=("nhs", "probation", "camden"),
    users=(
        _ig("nhs"),
        _ig("probation"),
        _ig("camden"),
        ("analyst@camden.example", "camden", ("analyst",)),
        ("caseworker@camden.example", "camden", ("data-owner",)),
    ),
    datasets=(
        "nhs/ae_attendances",
        "probation/caseload",
        "camden/housing_register",
        "nhs/national_opt_out",
    ),
    agreements=(("homelessness", "homelessness-camden"),),
    linked=("homelessness-camden",),
    opt_outs=True,
    asks=(
        Ask(
            label="Risk table: housing applicants by eviction notice and A&E attendance",
            user="analyst@camden.example",
            agreement="homelessness-camden",
            purpose="homelessness-prevention",
            sql=(
                "SELECT h.eviction_notice, h.temporary_accommodation,\n"
                "       COUNT(DISTINCT h.person_key) AS applicants,\n"
                "       COUNT(DISTINCT a.person_key) AS with_ae_attendance\n"
                "FROM camden.housing_register AS h\n"
                "LEFT JOIN nhs.ae_attendances AS a ON a.person_key = h.person_key\n"
                "GROUP BY h.eviction_notice, h.temporary_accommodation\n"
                "ORDER BY 1, 2"
            ),
        ),
        Ask(
            label="Referrals for caseworkers: applications with an eviction notice and probation "
            "contact",
            user="caseworker@camden.example",
            agreement="homelessness-camden",
            purpose="homelessness-prevention",
            sql=(
                "SELECT DISTINCT h.application_id\n"
                "FROM camden.housing_register AS h\n"
                "JOIN probation.caseload AS p ON p.person_key = h.person_key\n"
                "WHERE h.eviction_notice\n"
                "ORDER BY 1"
            ),
        ),
        Ask(
            label="An analyst asking for the same referrals (refused: analysts get aggregates)",
            user="analyst@camden.example",
            agreement="homelessness-camden",
            purpose="homelessness-prevention",
            sql=(
                "SELECT DISTINCT h.application_id FROM camden.housing_register AS h "
                "WHERE h.eviction_notice"
            ),
            refused=True,
        ),
    ),
    citizen_from="camden/housing_register",
)

STORIES: dict[str, Story] = {s.name: s for s in (FSM, VPS, HOMELESSNESS)}
