"""A small synthetic population with UK-style recording errors, for linkage tests.

Households share a family name and an address; some hold twins (same date of birth) and some a
parent and child of the same name. Two boroughs' extracts of the same people carry nicknames,
typos, swapped names, transposed dates, moves and missing values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

GIVEN_F = [
    "olivia",
    "amelia",
    "isla",
    "ava",
    "mia",
    "ivy",
    "lily",
    "isabella",
    "rosie",
    "sophia",
    "grace",
    "freya",
    "ayesha",
    "fatima",
    "zara",
    "hodan",
    "victoria",
    "elizabeth",
    "katherine",
    "margaret",
    "jessica",
    "samira",
    "priya",
    "chloe",
    "emily",
    "hannah",
    "nadia",
    "leah",
]
GIVEN_M = [
    "oliver",
    "george",
    "noah",
    "arthur",
    "leo",
    "harry",
    "oscar",
    "jack",
    "charlie",
    "mohammed",
    "muhammad",
    "william",
    "robert",
    "james",
    "thomas",
    "edward",
    "daniel",
    "joseph",
    "samuel",
    "benjamin",
    "jun",
    "kwame",
    "ahmed",
    "ibrahim",
    "patrick",
    "liam",
]
FAMILY = [
    "smith",
    "jones",
    "taylor",
    "brown",
    "williams",
    "wilson",
    "johnson",
    "davies",
    "patel",
    "khan",
    "ali",
    "ahmed",
    "hussain",
    "begum",
    "chan",
    "nguyen",
    "okafor",
    "mensah",
    "appiah",
    "obi",
    "murphy",
    "kelly",
    "o'brien",
    "al-rashid",
    "van der berg",
    "thompson",
    "green",
    "clarke",
    "hughes",
    "chowdhury",
    "islam",
    "jama",
    "osei",
    "kowalski",
    "nowak",
    "silva",
    "costa",
    "rossi",
    "bianchi",
    "evans",
    "roberts",
    "walker",
    "wright",
    "robinson",
    "wood",
    "hall",
    "edwards",
    "harris",
    "lewis",
    "young",
    "king",
    "scott",
    "baker",
    "adams",
]
NICK = {
    "william": "bill",
    "robert": "bob",
    "james": "jim",
    "thomas": "tom",
    "edward": "ted",
    "daniel": "dan",
    "joseph": "joe",
    "samuel": "sam",
    "benjamin": "ben",
    "elizabeth": "liz",
    "katherine": "kate",
    "margaret": "peggy",
    "jessica": "jess",
    "victoria": "vicky",
    "mohammed": "mohamed",
    "isabella": "bella",
    "charlie": "charles",
}
STREETS = [
    "high street",
    "church road",
    "station road",
    "park avenue",
    "mill lane",
    "orchard gardens",
    "cecilia place",
    "fern street",
    "sirdar way",
    "glenarm crescent",
    "leighton walk",
]
DISTRICTS = ["N1", "N4", "N5", "N7", "N19", "NW1", "NW5", "E8", "E5", "N16"]


@dataclass
class Person:
    pid: str
    given: str
    family: str
    dob: tuple[int, int, int]
    sex: str
    postcode: str
    address: str
    moved_to: tuple[str, str] | None = None
    tags: set[str] = field(default_factory=set)


def make_people(households: int, seed: int) -> list[Person]:
    rnd = random.Random(seed)
    people: list[Person] = []
    for h in range(households):
        family = rnd.choice(FAMILY)
        district = rnd.choice(DISTRICTS)
        postcode = f"{district} {rnd.randint(1, 9)}{rnd.choice('ABDEFGHJLNPQRSTUWXYZ')}{rnd.choice('ABDEFGHJLNPQRSTUWXYZ')}"
        address = f"{rnd.randint(1, 200)} {rnd.choice(STREETS)}"
        if rnd.random() < 0.4:
            address = f"flat {rnd.randint(1, 9)}, {address}"
        size = rnd.choice([1, 2, 2, 3, 3, 4, 5])
        parent_year = rnd.randint(1960, 1995)
        members = []
        for i in range(size):
            sex = rnd.choice("MF")
            given = rnd.choice(GIVEN_M if sex == "M" else GIVEN_F)
            if i == 0:
                dob = (parent_year, rnd.randint(1, 12), rnd.randint(1, 28))
            else:
                dob = (parent_year + rnd.randint(20, 35), rnd.randint(1, 12), rnd.randint(1, 28))
            members.append(Person(f"H{h}-{i}", given, family, dob, sex, postcode, address))
        if size >= 3 and rnd.random() < 0.35:  # twins: the last two children share a birthday
            twin = members[-1]
            twin.dob = members[-2].dob
            twin.tags.add("twin")
            members[-2].tags.add("twin")
            while twin.given == members[-2].given:
                twin.given = rnd.choice(GIVEN_M if twin.sex == "M" else GIVEN_F)
        if size >= 2 and rnd.random() < 0.15:  # a child named after the parent
            members[1].given, members[1].sex = members[0].given, members[0].sex
            members[1].tags.add("junior")
        people.extend(members)
    for person in people:
        if rnd.random() < 0.08:
            district = rnd.choice(DISTRICTS)
            person.moved_to = (
                f"{district} {rnd.randint(1, 9)}AB",
                f"{rnd.randint(1, 200)} {rnd.choice(STREETS)}",
            )
    return people


def _typo(text: str, rnd: random.Random) -> str:
    if len(text) < 4:
        return text
    i = rnd.randint(1, len(text) - 2)
    kind = rnd.choice(["drop", "swap", "sub"])
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "swap":
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text[:i] + rnd.choice("aeioustrnl") + text[i + 1 :]


def extract(
    people: list[Person], seed: int, *, share: float, errors: float, moved_side: bool, style: str
) -> tuple[pa.Table, dict[str, str]]:
    """One organisation's records of a share of ``people``; returns (table, {key: person id})."""
    rnd = random.Random(seed)
    rows, truth = [], {}
    for n, p in enumerate(people):
        if rnd.random() > share:
            continue
        given, family = p.given, p.family
        y, m, d = p.dob
        postcode, address = p.moved_to if (moved_side and p.moved_to) else (p.postcode, p.address)
        if rnd.random() < errors and given in NICK:
            given = NICK[given]
        if rnd.random() < errors:
            given = _typo(given, rnd)
        if rnd.random() < errors:
            family = _typo(family, rnd)
        if rnd.random() < errors / 3:
            given, family = family, given
        if rnd.random() < errors / 3 and d <= 12:
            m, d = d, m
        dob: str | None
        if style == "school":
            dob = f"{d:02d}/{m:02d}/{y}"
        else:
            dob = f"{y}-{m:02d}-{d:02d}"
        if rnd.random() < errors:
            dob = None
        key = f"{style[0].upper()}{seed}{n:06d}"
        truth[key] = p.pid
        if style == "school":
            rows.append(
                {
                    "pupil_id": key,
                    "given_name": given.title(),
                    "family_name": family.title(),
                    "date_of_birth": dob,
                    "sex": p.sex,
                    "home_postcode": postcode,
                    "home_address": address.title(),
                }
            )
        elif style == "residents":
            rows.append(
                {
                    "resident_id": key,
                    "given_name": given.upper(),
                    "family_name": family.upper(),
                    "date_of_birth": dob,
                    "postcode": postcode.replace(" ", ""),
                    "address": address.upper(),
                }
            )
        else:  # a supermarket: one full name, title first, no date of birth
            rows.append(
                {
                    "customer_id": key,
                    "full_name": f"Mr {given.title()} {family.title()}",
                    "delivery_postcode": postcode,
                    "delivery_address": address,
                }
            )
    return pa.Table.from_pylist(rows), truth


def _field(name: str, role: str | None = None, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "type": "string"}
    spec.update(extra)
    spec["accord"] = {"category": "personal", "role": role} if role else {"category": "none"}
    return spec


SCHOOL_CONTRACT = {
    "name": "pupils",
    "owner": "camden",
    "title": "Camden school census",
    "may_hold_duplicates": False,
    "schema": {
        "primaryKey": "pupil_id",
        "fields": [
            _field("pupil_id"),
            _field("given_name", "given_name"),
            _field("family_name", "family_name"),
            _field("date_of_birth", "date_of_birth", type="date", format="%d/%m/%Y"),
            _field("sex", "sex"),
            _field("home_postcode", "postcode"),
            _field("home_address", "address"),
        ],
    },
}
RESIDENTS_CONTRACT = {
    "name": "residents",
    "owner": "islington",
    "title": "Islington residents",
    "may_hold_duplicates": False,
    "schema": {
        "primaryKey": "resident_id",
        "fields": [
            _field("resident_id"),
            _field("given_name", "given_name"),
            _field("family_name", "family_name"),
            _field("date_of_birth", "date_of_birth", type="date"),
            _field("postcode", "postcode"),
            _field("address", "address"),
        ],
    },
}
CUSTOMERS_CONTRACT = {
    "name": "customers",
    "owner": "freshmart",
    "title": "Freshmart customers",
    "may_hold_duplicates": True,
    "schema": {
        "primaryKey": "customer_id",
        "fields": [
            _field("customer_id"),
            _field("full_name", "full_name"),
            _field("delivery_postcode", "postcode"),
            _field("delivery_address", "address"),
        ],
    },
}
