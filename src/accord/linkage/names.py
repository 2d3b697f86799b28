"""Names as UK administrative data records them: normalised, split and grouped by nickname.

The same person is "Mohammed Al-Rashid" in one system and "MOHAMED ALRASHID" in the next, or
"Bob" where the other says "Robert". Names are folded to lower-case ASCII letters, family-name
particles are kept with the family name, and each given name carries the set of canonical names
it may stand for (from the curated ``nicknames`` list), so "bob" and "rob" meet at "robert".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pyarrow as pa
from nicknames import NickNamer

TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "sir",
        "dame",
        "lady",
        "lord",
        "rev",
        "revd",
        "master",
        "fr",
        "sr",
        "jr",
    ]
)
# Particles that belong to the family name: "Al Rashid" is one family name, not a middle name.
PARTICLES = frozenset(
    [
        "al",
        "el",
        "ul",
        "abu",
        "bin",
        "ibn",
        "bint",
        "van",
        "von",
        "der",
        "den",
        "de",
        "da",
        "di",
        "du",
        "del",
        "della",
        "le",
        "la",
        "mc",
        "mac",
        "o",
        "ap",
        "st",
    ]
)
_NOT_LETTERS = re.compile(r"[^a-z ]+")
_SPACES = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Lower-case ASCII letters and single spaces; hyphens and apostrophes join the parts.

    Examples:
        >>> fold("  Zoë O'Neill-Brown ")
        'zoe oneillbrown'
    """
    if not text:
        return ""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    joined = re.sub(r"['’`\-\.]", "", ascii_text.lower())
    return _SPACES.sub(" ", _NOT_LETTERS.sub(" ", joined)).strip()


def family_name(text: str | None) -> str | None:
    """A family name as one token: particles and spaces removed between its parts.

    Examples:
        >>> family_name("Al-Rashid"), family_name("al rashid"), family_name("Van der Berg")
        ('alrashid', 'alrashid', 'vanderberg')
    """
    folded = fold(text).replace(" ", "")
    return folded or None


def given_names(text: str | None) -> tuple[str | None, str | None]:
    """(first given name, further given names) from a given-name field.

    Examples:
        >>> given_names("Mary Jane"), given_names("Mary-Jane"), given_names("")
        (('mary', 'jane'), ('maryjane', None), (None, None))
    """
    tokens = [t for t in fold(text).split(" ") if t and t not in TITLES]
    if not tokens:
        return None, None
    return tokens[0], (" ".join(tokens[1:]) or None)


def split_full_name(text: str | None) -> tuple[str | None, str | None, str | None]:
    """(given, middle, family) from one full-name field, e.g. a supermarket's customer name.

    Handles titles, "FAMILY, Given" order and family-name particles.

    Examples:
        >>> split_full_name("Mr Mohammed Al Rashid")
        ('mohammed', None, 'alrashid')
        >>> split_full_name("SMITH, John Paul")
        ('john', 'paul', 'smith')
    """
    if not text:
        return None, None, None
    if "," in text:
        family_part, _, given_part = text.partition(",")
        given, middle = given_names(given_part)
        return given, middle, family_name(family_part)
    tokens = [t for t in fold(text).split(" ") if t and t not in TITLES]
    if not tokens:
        return None, None, None
    if len(tokens) == 1:
        return None, None, tokens[0]
    # The family name starts at the first particle after the given name, else the last token.
    start = len(tokens) - 1
    for index in range(1, len(tokens) - 1):
        if tokens[index] in PARTICLES:
            start = index
            break
    given, rest = tokens[0], tokens[1:start]
    return given, (" ".join(rest) or None), "".join(tokens[start:])


@lru_cache(maxsize=1)
def _namer() -> NickNamer:
    return NickNamer()


@lru_cache(maxsize=200_000)
def name_group(name: str | None) -> tuple[str, ...] | None:
    """The name and the canonical names it may be a nickname of, sorted.

    Two given names are nickname-equivalent when their groups share a name.

    Examples:
        >>> "robert" in name_group("bob") and "robert" in name_group("rob")
        True
    """
    if not name:
        return None
    namer = _namer()
    group = {name} | set(namer.canonicals_of(name))
    return tuple(sorted(group))


NAME_COLUMNS = ("given_name", "family_name")


def name_frequencies(tables: list[pa.Table]) -> dict[str, pa.Table]:
    """Term frequencies of given and family names, each counted in **both** name fields.

    A match on a rare name counts for more; but a name that is rare only because it sits in
    the wrong field ("Patel" recorded as the given name, "Rohan" as the family name, as some
    systems do for names written family name first) is not rare at all. The frequency of a
    value in one field is the larger of its frequency among given names and among family names.
    Returns {column: table of (column, tf_column)} for Splink's term-frequency lookup.

    Examples:
        >>> t = pa.table({"given_name": ["patel", "ann", "ann", "bob"],
        ...               "family_name": ["patel", "patel", "rohan", "lee"]})
        >>> tf = name_frequencies([t])["given_name"].to_pydict()
        >>> dict(zip(tf["given_name"], tf["tf_given_name"]))["patel"]
        0.5
    """
    import duckdb

    present = [c for c in NAME_COLUMNS if tables and all(c in t.column_names for t in tables)]
    if len(present) < 2:
        return {}
    con = duckdb.connect()
    try:
        for i, table in enumerate(tables):
            con.register(f"__t{i}", table.select(list(NAME_COLUMNS)))
        union = " UNION ALL ".join(f"SELECT * FROM __t{i}" for i in range(len(tables)))
        con.execute(f"CREATE TEMP TABLE names AS {union}")
        freq = {
            c: f"SELECT {c} AS v, count(*) / sum(count(*)) OVER () AS f FROM names "
            f"WHERE {c} IS NOT NULL GROUP BY {c}"
            for c in NAME_COLUMNS
        }
        result = {}
        for column, other in (NAME_COLUMNS, NAME_COLUMNS[::-1]):
            result[column] = con.sql(
                f"""
                SELECT own.v AS {column}, greatest(own.f, coalesce(o.f, 0)) AS tf_{column}
                FROM ({freq[column]}) own LEFT JOIN ({freq[other]}) o USING (v)
                ORDER BY own.v
                """
            ).to_arrow_table()
        return result
    finally:
        con.close()


def register_name_frequencies(linker: object, db_api: object, tables: list[pa.Table]) -> None:
    """Give Splink the name frequencies of ``name_frequencies`` instead of its own per-field
    counts (the same lookup serves training, prediction and, via scoring.py, explanations)."""
    for column, table in name_frequencies(tables).items():
        frame = db_api.register(table, dataset_display_name=f"__accord_tf_{column}")  # type: ignore[attr-defined]
        linker.table_management.register_term_frequency_lookup(frame, column)  # type: ignore[attr-defined]
