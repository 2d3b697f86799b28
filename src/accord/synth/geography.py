"""The four boroughs: streets, postcodes, UPRNs, schools and GP practices.

Street, school and practice tables are small (they scale with the population, not one row per
person) and are built once per run from the seed. Addresses are then a pure function of an
address number, so any chunk can make its own without knowing the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from accord.synth.keys import affine

# Letters used in the unit part of real postcodes (C, I, K, M, O, V are never used there).
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
POSTCODE_PATTERN = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"


@dataclass(frozen=True)
class Borough:
    """One London borough as the generator needs it."""

    slug: str
    name: str
    la_code: str  # DfE local-authority number, the first digits of a UPN
    outward_codes: tuple[str, ...]
    areas: tuple[str, ...]
    population_share: float
    fsm_rate: float  # share of households with children that are low-income
    practice_prefix: str
    practice_start: int


BOROUGHS: tuple[Borough, ...] = (
    Borough(
        "camden",
        "Camden",
        "202",
        ("NW1", "NW3", "NW5", "NW6", "WC1", "N6", "N7", "N19"),
        (
            "Kentish Town",
            "Camden Town",
            "Hampstead",
            "Belsize Park",
            "Gospel Oak",
            "Somers Town",
            "Kilburn",
            "West Hampstead",
            "Highgate",
            "Bloomsbury",
        ),
        0.22,
        0.18,
        "F83",
        0,
    ),
    Borough(
        "islington",
        "Islington",
        "206",
        ("N1", "N4", "N5", "N7", "N19", "EC1V", "EC1R"),
        (
            "Highbury",
            "Canonbury",
            "Holloway",
            "Archway",
            "Barnsbury",
            "Finsbury Park",
            "Clerkenwell",
            "Tufnell Park",
            "Angel",
            "Upper Holloway",
        ),
        0.22,
        0.22,
        "F83",
        500,
    ),
    Borough(
        "hackney",
        "Hackney",
        "204",
        ("E2", "E5", "E8", "E9", "N1", "N16", "EC2A"),
        (
            "Dalston",
            "Clapton",
            "Homerton",
            "Stoke Newington",
            "Hackney Wick",
            "Shoreditch",
            "Stamford Hill",
            "Hoxton",
            "De Beauvoir",
            "Haggerston",
        ),
        0.28,
        0.22,
        "F84",
        0,
    ),
    Borough(
        "haringey",
        "Haringey",
        "309",
        ("N4", "N6", "N8", "N10", "N11", "N15", "N17", "N22"),
        (
            "Tottenham",
            "Wood Green",
            "Hornsey",
            "Crouch End",
            "Muswell Hill",
            "Seven Sisters",
            "Harringay",
            "Bruce Grove",
            "Noel Park",
            "Highgate",
        ),
        0.28,
        0.20,
        "F85",
        0,
    ),
)
BOROUGH_SLUGS: tuple[str, ...] = tuple(b.slug for b in BOROUGHS)
# Which boroughs share a border (children cross these to go to school).
NEIGHBOURS: dict[int, tuple[int, ...]] = {0: (1, 3), 1: (0, 2, 3), 2: (1, 3), 3: (0, 1, 2)}

STREET_STEMS: tuple[str, ...] = (
    "Albert",
    "Victoria",
    "Church",
    "Park",
    "Station",
    "Mill",
    "Queens",
    "Kings",
    "Manor",
    "Grove",
    "Highbury",
    "Canonbury",
    "Amhurst",
    "Dalston",
    "Malvern",
    "Leighton",
    "Brecknock",
    "Agar",
    "Camden",
    "Fortess",
    "Lady Somerset",
    "Chetwynd",
    "Dartmouth",
    "Lissenden",
    "Mansfield",
    "Savernake",
    "Courthope",
    "Glenhurst",
    "Lidlington",
    "Pratt",
    "Bayham",
    "Arlington",
    "Delancey",
    "Gloucester",
    "Regents Park",
    "Fitzroy",
    "Chalcot",
    "Belsize",
    "Eton",
    "Adelaide",
    "Fellows",
    "Haverstock",
    "Prince of Wales",
    "Hawley",
    "Jeffreys",
    "Caversham",
    "Leverton",
    "Torriano",
    "Islip",
    "Bartholomew",
    "Hillmarton",
    "Tufnell Park",
    "Anson",
    "Hargrave",
    "Elthorne",
    "Cathcart",
    "Tollington",
    "Seven Sisters",
    "Blackstock",
    "Riversdale",
    "Aberdeen",
    "Petherton",
    "Mildmay",
    "Newington Green",
    "Albion",
    "Balls Pond",
    "Englefield",
    "Culford",
    "Mortimer",
    "Downham",
    "Richmond",
    "Navarino",
    "Sandringham",
    "Cecilia",
    "Shacklewell",
    "Evering",
    "Kyverdale",
    "Osbaldeston",
    "Rendlesham",
    "Glenarm",
    "Chatsworth",
    "Median",
    "Rushmore",
    "Cassland",
    "Lauriston",
    "Victoria Park",
    "Well",
    "Morning",
    "Berkshire",
    "Wick",
    "Gore",
    "Lansdowne",
    "Mapledene",
    "Middleton",
    "Lavender",
    "Dunlace",
    "Brooke",
    "Cazenove",
    "Fountayne",
    "Stamford",
    "Lordship",
    "Philip",
    "Westbury",
    "Lealand",
    "Mount Pleasant",
    "Clyde",
    "Bruce",
    "Broadwater",
    "Waltheof",
    "Lordship Park",
    "Sirdar",
    "Lothair",
    "Falkland",
    "Cavendish",
    "Alexandra",
    "Wightman",
    "Umfreville",
    "Stapleton Hall",
    "Weston",
    "Ferme Park",
    "Inderwick",
    "Nelson",
    "Wellington",
    "Cromwell",
    "Elgin",
    "Stanhope",
    "Coleridge",
    "Shelley",
    "Milton",
    "Chaucer",
    "Spenser",
    "Tennyson",
    "Byron",
    "Wordsworth",
    "Keats",
    "Dickens",
    "Orchard",
    "Meadow",
    "Beech",
    "Elm",
    "Oak",
    "Ash",
    "Willow",
    "Cedar",
    "Hazel",
    "Rowan",
    "Chestnut",
    "Poplar",
    "Laurel",
    "Holly",
    "Ivy",
    "Rose",
    "Primrose",
    "Bluebell",
    "Heather",
    "Fern",
)
STREET_SUFFIXES: tuple[str, ...] = (
    "Road",
    "Road",
    "Road",
    "Street",
    "Street",
    "Avenue",
    "Grove",
    "Gardens",
    "Terrace",
    "Place",
    "Close",
    "Lane",
    "Square",
    "Crescent",
    "Villas",
    "Way",
    "Rise",
    "Walk",
)
SAINTS: tuple[str, ...] = (
    "Mary",
    "John",
    "Paul",
    "Peter",
    "Michael",
    "Joseph",
    "Luke",
    "Matthew",
    "Anne",
    "Dominic",
    "Aloysius",
    "Jude",
    "Mark",
    "Monica",
    "Scholastica",
    "Saviour",
    "George",
)
PRIMARY_FORMS: tuple[str, ...] = (
    "{stem} Primary School",
    "{area} Primary School",
    "St {saint}'s CE Primary School",
    "St {saint}'s RC Primary School",
    "{stem} Infant and Junior School",
    "{area} Community Primary School",
    "{stem} Road Primary School",
)
SECONDARY_FORMS: tuple[str, ...] = (
    "{area} Academy",
    "{area} School",
    "St {saint}'s Catholic College",
    "{area} Community School",
    "{stem} School for Girls",
    "{stem} Academy",
)


@dataclass(frozen=True)
class World:
    """Tables that every chunk shares: streets, schools and GP practices of each borough."""

    street_name: np.ndarray  # str, all boroughs
    street_borough: np.ndarray  # borough index
    street_outward: np.ndarray  # str outward code
    street_sector: np.ndarray  # int 0-9
    street_offsets: np.ndarray  # streets of borough b are [o[b], o[b+1])
    school_urn: np.ndarray  # str, 6 digits
    school_name: np.ndarray
    school_borough: np.ndarray
    school_secondary: np.ndarray  # bool
    school_offsets: np.ndarray  # shape (4, 2, 2): [borough, secondary] -> (start, stop)
    practice_code: np.ndarray  # str
    practice_offsets: np.ndarray  # practices of borough b are [o[b], o[b+1])


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name} ({count + 1})")
    return out


def build_world(rng: np.random.Generator, people: int) -> World:
    """Make the street, school and practice tables for a population of ``people``."""
    shares = np.array([b.population_share for b in BOROUGHS])
    street_name: list[str] = []
    street_borough: list[int] = []
    street_outward: list[str] = []
    street_sector: list[int] = []
    street_offsets = [0]
    urns = rng.choice(np.arange(100000, 150000), size=50000, replace=False)
    school_rows: list[tuple[str, str, int, bool]] = []
    school_offsets = np.zeros((len(BOROUGHS), 2, 2), dtype=np.int64)
    practice_code: list[str] = []
    practice_offsets = [0]
    combos = [f"{s} {x}" for s in STREET_STEMS for x in dict.fromkeys(STREET_SUFFIXES)]
    for b, borough in enumerate(BOROUGHS):
        residents = people * shares[b]
        # ~350 people per street; at least 40 streets so small runs still look varied.
        n_streets = int(min(len(combos), max(40, residents // 350)))
        chosen = rng.choice(len(combos), size=n_streets, replace=False)
        street_name.extend(combos[i] for i in chosen)
        street_borough.extend([b] * n_streets)
        street_outward.extend(
            borough.outward_codes[i] for i in rng.integers(0, len(borough.outward_codes), n_streets)
        )
        street_sector.extend(int(s) for s in rng.integers(1, 10, n_streets))
        street_offsets.append(len(street_name))
        # ~1 primary per 5,000 residents and 1 secondary per 20,000, as in inner London.
        for secondary, per, forms in ((False, 5000, PRIMARY_FORMS), (True, 20000, SECONDARY_FORMS)):
            n = int(min(2000, max(2 if not secondary else 1, round(residents / per))))
            start = len(school_rows)
            for _ in range(n):
                form = forms[int(rng.integers(len(forms)))]
                name = form.format(
                    stem=STREET_STEMS[int(rng.integers(len(STREET_STEMS)))],
                    area=borough.areas[int(rng.integers(len(borough.areas)))],
                    saint=SAINTS[int(rng.integers(len(SAINTS)))],
                )
                school_rows.append((str(urns[len(school_rows)]), name, b, secondary))
            school_offsets[b, int(secondary)] = (start, len(school_rows))
        # ~1 practice per 8,000 residents; codes stay within the borough's block of 500.
        n_practices = int(min(400, max(3, residents // 8000)))
        suffixes = np.sort(rng.choice(np.arange(500), size=n_practices, replace=False))
        practice_code.extend(
            f"{borough.practice_prefix}{borough.practice_start + int(s):03d}" for s in suffixes
        )
        practice_offsets.append(len(practice_code))
    return World(
        street_name=np.array(street_name, dtype=object),
        street_borough=np.array(street_borough),
        street_outward=np.array(street_outward, dtype=object),
        street_sector=np.array(street_sector),
        street_offsets=np.array(street_offsets),
        school_urn=np.array([r[0] for r in school_rows], dtype=object),
        school_name=np.array(_dedupe([r[1] for r in school_rows]), dtype=object),
        school_borough=np.array([r[2] for r in school_rows]),
        school_secondary=np.array([r[3] for r in school_rows]),
        school_offsets=school_offsets,
        practice_code=np.array(practice_code, dtype=object),
        practice_offsets=np.array(practice_offsets),
    )


HOUSES_PER_STREET = 160


def addresses(world: World, borough: np.ndarray, address_no: np.ndarray, salt: int) -> pl.DataFrame:
    """Turn (borough, unique address number) into ``address``, ``postcode`` and ``uprn`` columns.

    Distinct address numbers in one borough always give distinct addresses: the number picks
    the street (modulo) and the house and flat (quotient).
    """
    start = world.street_offsets[borough]
    n_streets = world.street_offsets[borough + 1] - start
    street = start + address_no % n_streets
    rest = address_no // n_streets
    number = 1 + rest % HOUSES_PER_STREET
    flat = rest // HOUSES_PER_STREET
    # One postcode unit covers a run of ~12 house numbers on one street, as real units do.
    unit = (street * 7919 + (number // 12) * 104729 + salt % 1_000_003) % len(INWARD_LETTERS) ** 2
    letters = pl.Series(list(INWARD_LETTERS))
    frame = pl.DataFrame(
        {
            "street": pl.Series(world.street_name.tolist(), dtype=pl.String).gather(street),
            "outward": pl.Series(world.street_outward.tolist(), dtype=pl.String).gather(street),
            "sector": world.street_sector[street],
            "l1": letters.gather(unit // len(INWARD_LETTERS)),
            "l2": letters.gather(unit % len(INWARD_LETTERS)),
            "number": number,
            "flat": flat,
            "uprn": 100_000_000_000 + affine(address_no, 900_000_000_000, salt),
        }
    )
    house = pl.concat_str(pl.col("number"), pl.lit(" "), pl.col("street"))
    return frame.select(
        address=pl.when(pl.col("flat") > 0)
        .then(pl.concat_str(pl.lit("Flat "), pl.col("flat"), pl.lit(", "), house))
        .otherwise(house),
        postcode=pl.concat_str("outward", pl.lit(" "), "sector", "l1", "l2"),
        uprn=pl.col("uprn").cast(pl.String),
    )
