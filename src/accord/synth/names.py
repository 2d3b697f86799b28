"""Name tables: given names by sex, origin and birth cohort; family names by origin; nicknames.

The tables are small data files under ``data/``; sampling from them is vectorised (one
``rng.choice`` per sex/origin/cohort group, never one call per person).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
from nicknames import NickNamer

ORIGINS: tuple[str, ...] = ("en", "sa", "mu", "af", "ea", "eu")
# Share of households by origin group: a rough picture of inner north London.
ORIGIN_WEIGHTS: tuple[float, ...] = (0.58, 0.05, 0.11, 0.08, 0.05, 0.13)
# People from a non-"en" group still often carry an English-language given name.
ENGLISH_NAME_SHARE = 0.3
COHORT_BREAKS: tuple[int, int] = (1965, 1995)  # born before 1965 / 1965-1994 / 1995 on


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("accord.synth.data").joinpath(name).read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


@dataclass(frozen=True, eq=False)  # hashed by identity: the tables are loaded once
class NameTables:
    """Given and family names with their weights, plus a nickname lookup by given-name code."""

    given: np.ndarray  # str, one per given-name code
    given_sex: np.ndarray  # "F" / "M"
    given_origin: np.ndarray  # origin code (index into ORIGINS)
    given_weights: np.ndarray  # float, shape (n_given, 3 cohorts)
    family: np.ndarray  # str
    family_origin: np.ndarray
    family_weights: np.ndarray
    nick_offsets: np.ndarray  # int64, n_given + 1: nicknames of code i are nick_flat[o[i]:o[i+1]]
    nick_flat: np.ndarray  # str

    @property
    def nick_counts(self) -> np.ndarray:
        return np.diff(self.nick_offsets)

    def sample_family(self, rng: np.random.Generator, origin: np.ndarray) -> np.ndarray:
        """Draw one family-name code per entry of ``origin`` (origin codes)."""
        out = np.empty(origin.shape[0], dtype=np.int64)
        for code in range(len(ORIGINS)):
            where = np.flatnonzero(origin == code)
            if where.size == 0:
                continue
            pool = np.flatnonzero(self.family_origin == code)
            p = self.family_weights[pool] / self.family_weights[pool].sum()
            out[where] = pool[rng.choice(pool.size, size=where.size, p=p)]
        return out

    def sample_given(
        self,
        rng: np.random.Generator,
        sex_female: np.ndarray,
        origin: np.ndarray,
        birth_year: np.ndarray,
    ) -> np.ndarray:
        """Draw one given-name code per person from the table for their sex, origin, cohort."""
        n = sex_female.shape[0]
        cohort = np.searchsorted(np.array(COHORT_BREAKS), birth_year, side="right")
        # A share of people outside the "en" group get an English-language name.
        name_origin = np.where(rng.random(n) < ENGLISH_NAME_SHARE, 0, origin)
        out = np.empty(n, dtype=np.int64)
        for female in (True, False):
            sex = "F" if female else "M"
            for code in range(len(ORIGINS)):
                pool = np.flatnonzero((self.given_sex == sex) & (self.given_origin == code))
                for c in range(3):
                    where = np.flatnonzero(
                        (sex_female == female) & (name_origin == code) & (cohort == c)
                    )
                    if where.size == 0:
                        continue
                    w = self.given_weights[pool, c] + 0.05  # no name is ever impossible
                    out[where] = pool[rng.choice(pool.size, size=where.size, p=w / w.sum())]
        return out


def _nicknames_for(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    namer = NickNamer()
    offsets = [0]
    flat: list[str] = []
    for name in names:
        # Keep plain alphabetic forms of 2+ letters; the curated list is otherwise used as is.
        found = sorted(
            n for n in namer.nicknames_of(name) if n.isalpha() and len(n) >= 2 and n != name.lower()
        )
        flat.extend(n[0].upper() + n[1:] for n in found)
        offsets.append(len(flat))
    return np.array(offsets, dtype=np.int64), np.array(flat, dtype=object)


@lru_cache(maxsize=1)
def load_names() -> NameTables:
    """Load the bundled name tables and the nickname lookup (cached)."""
    given_rows = _read_csv("given_names.csv")
    family_rows = _read_csv("surnames.csv")
    origin_index = {o: i for i, o in enumerate(ORIGINS)}
    given = [r["name"] for r in given_rows]
    offsets, flat = _nicknames_for(given)
    return NameTables(
        given=np.array(given, dtype=object),
        given_sex=np.array([r["sex"] for r in given_rows]),
        given_origin=np.array([origin_index[r["origin"]] for r in given_rows]),
        given_weights=np.array(
            [[float(r["old"]), float(r["mid"]), float(r["young"])] for r in given_rows]
        ),
        family=np.array([r["name"] for r in family_rows], dtype=object),
        family_origin=np.array([origin_index[r["origin"]] for r in family_rows]),
        family_weights=np.array([float(r["weight"]) for r in family_rows]),
        nick_offsets=offsets,
        nick_flat=flat,
    )
