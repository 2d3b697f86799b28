"""A small linked world on the synthetic population, with the ground truth of every record.

The NHS shares its shielding list with Camden, Islington and a supermarket (Vulnerable Persons
Service: individual care, the opt-out does not apply); the NHS, probation and Camden link A&E
attendances, probation caseload and the housing register (homelessness prevention: planning, the
opt-out applies). GP registrations are held but shared under no agreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from accord import Trust
from accord.agreements.templates import render_template
from accord.audit.citizen import Identifiers
from accord.demo.stories import TITLES
from accord.linkage import LinkConfig
from accord.synth import generate_population

VPS = "vps-shielding-food"
HOMELESSNESS = "homelessness-camden"
DATASETS = (
    "nhs/shielding_list",
    "nhs/ae_attendances",
    "probation/caseload",
    "camden/housing_register",
    "nhs/gp_registrations",
)
PROBATION_FIELDS = [
    "forename",
    "surname",
    "date_of_birth",
    "postcode",
    "offence_group",
    "started_on",
]
SHIELDING_SQL = (
    "SELECT given_name, family_name, address, postcode, needs_food_support FROM nhs.shielding_list"
)
ASKS: tuple[tuple[str, str, str, str], ...] = (
    ("analyst@camden.example", VPS, "shielding-food-support", SHIELDING_SQL),
    ("analyst@islington.example", VPS, "shielding-food-support", SHIELDING_SQL),
    (
        "analyst@freshmart.example",
        VPS,
        "shielding-food-support",
        "SELECT given_name, family_name, address, postcode FROM nhs.shielding_list",
    ),
    (
        "analyst@camden.example",
        HOMELESSNESS,
        "homelessness-prevention",
        "SELECT h.eviction_notice, COUNT(DISTINCT h.person_key) AS applicants, "
        "COUNT(DISTINCT a.person_key) AS with_ae FROM camden.housing_register AS h "
        "LEFT JOIN nhs.ae_attendances AS a ON a.person_key = h.person_key GROUP BY 1",
    ),
    (
        "analyst@camden.example",
        HOMELESSNESS,
        "homelessness-prevention",
        "SELECT arrived_on >= DATE '2026-06-01' AS recent, COUNT(*) AS attendances "
        "FROM nhs.ae_attendances GROUP BY 1",
    ),
    (
        "caseworker@camden.example",
        HOMELESSNESS,
        "homelessness-prevention",
        "SELECT application_id FROM camden.housing_register WHERE eviction_notice",
    ),
)


@dataclass
class World:
    trust: Trust
    synthetic: Path
    people: dict[str, dict[str, Any]]  # true_person_id -> the true person
    truth: dict[tuple[str, str], str]  # (dataset, record_key) -> true_person_id
    releases: list[str] = field(default_factory=list)

    def ask(self, index: int) -> str:
        user, agreement, purpose, sql = ASKS[index]
        release = self.trust.acting_as(user).queries.ask(user, agreement, purpose, sql)
        self.releases.append(release.id)
        return release.id

    def touched(self, release_id: str) -> set[str]:
        """True people behind a release's contributors (the ground truth)."""
        table = self.trust.queries.contributors(release_id)
        return {
            self.truth[(d, k)]
            for d, k in zip(
                table.column("dataset").to_pylist(),
                table.column("record_key").to_pylist(),
                strict=True,
            )
        }

    def identifiers(self, person_id: str, *, nhs: bool = True, names: bool = True) -> Identifiers:
        p = self.people[person_id]
        values: dict[str, Any] = {"date_of_birth": p["date_of_birth"]}
        if nhs:
            values["nhs_number"] = str(p["nhs_number"])
        if names:
            values |= {
                "given_name": p["given_name"],
                "family_name": p["family_name"],
                "postcode": p["postcode"],
            }
        return Identifiers(**values)


def build_world(base: Path, people: int = 5000, seed: int = 11) -> World:
    synthetic = base / "synthetic"
    generate_population(people, seed, synthetic, errors="low", fmt="parquet")
    trust = Trust.init(base / "home", actor="tester@accord.test")
    for member in ("nhs", "camden", "islington", "freshmart", "probation"):
        trust.catalogue.add_member(member, TITLES[member])
        trust.catalogue.add_user(f"ig-lead@{member}.example", member, ["ig-lead"])
    for member in ("camden", "islington", "freshmart"):
        trust.catalogue.add_user(f"analyst@{member}.example", member, ["analyst"])
    trust.catalogue.add_user("caseworker@camden.example", "camden", ["data-owner"])
    truth: dict[tuple[str, str], str] = {}
    for ref in DATASETS:
        member, name = ref.split("/")
        trust.catalogue.register_dataset(synthetic / "contracts" / member / f"{name}.yaml")
        trust.ingest.ingest(ref, synthetic / "extracts" / member / f"{name}.parquet")
        table = pq.read_table(synthetic / "ground_truth" / member / f"{name}.parquet")
        key = trust.catalogue.contract(ref).primary_key[0]
        truth.update(
            ((ref, str(k)), p)
            for k, p in zip(
                table.column(key).to_pylist(),
                table.column("true_person_id").to_pylist(),
                strict=True,
            )
        )
    for template, agreement_id in (("vps", VPS), ("homelessness", HOMELESSNESS)):
        data = yaml.safe_load(render_template(template))
        for share in data["datasets"]:
            if share["dataset"] == "probation/caseload":  # the synthetic caseload's own names
                share["fields"] = PROBATION_FIELDS
        trust.agreements.propose(data)
        for controller in data["parties"]["controllers"]:
            trust.agreements.sign(agreement_id, f"ig-lead@{controller}.example")
    trust.linkage.run(HOMELESSNESS, config=LinkConfig(u_max_pairs=2e5))
    everyone = pq.read_table(synthetic / "people.parquet").to_pylist()
    world = World(trust, synthetic, {p["true_person_id"]: p for p in everyone}, truth)
    for index in range(len(ASKS)):
        world.ask(index)
    return world
