"""The error model: how organisations' copies of a person drift from the truth.

Each profile is a small set of rates. Every error is injected vectorised over a whole chunk of
an extract, and only where it changes something (a nickname only for names that have one, a
day/month swap only where both are 12 or less and differ); the counts returned are the rows
(or fields) actually changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from functools import lru_cache

import numpy as np
import polars as pl

from accord.synth.geography import INWARD_LETTERS
from accord.synth.names import NameTables


@dataclass(frozen=True)
class ErrorProfile:
    """Per-error rates; each is a probability applied independently to each row (or field).

    Attributes:
        typo: each name field gets one keyboard slip (substitute, drop, insert, transpose).
        nickname: a given name that has a known nickname is recorded as one (Bill for William).
        swap_names: given and family names are recorded the wrong way round.
        transpose_dob: day and month of birth are swapped (only where that is still a date).
        missing: each optional identifying field (DOB, sex, postcode, ...) is left blank.
        old_address: a person who moved in the last three years is still held at the old one.
        postcode_typo: one character of the postcode is wrong (the shape stays valid).
        marriage_name: a person who took a new family name on marriage is held under the old.
        duplicate: the row is held twice under two ids (only where the contract allows it).
        invalid: one contract-checked field of the row breaks the contract (a wrong NHS check
            digit, 31/02/2011, a malformed postcode, a code outside the list, a required
            field blank), so an ingest quarantines the row; see :mod:`accord.synth.invalid`.
    """

    typo: float
    nickname: float
    swap_names: float
    transpose_dob: float
    missing: float
    old_address: float
    postcode_typo: float
    marriage_name: float
    duplicate: float
    invalid: float

    def as_dict(self) -> dict[str, float]:
        """The rates by error name."""
        return asdict(self)


ERROR_KINDS: tuple[str, ...] = tuple(f.name for f in fields(ErrorProfile))

PROFILES: dict[str, ErrorProfile] = {
    # Clean copies: every source holds the truth (useful to test contracts and plumbing).
    "none": ErrorProfile(0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    "low": ErrorProfile(
        typo=0.005,
        nickname=0.02,
        swap_names=0.002,
        transpose_dob=0.002,
        missing=0.01,
        old_address=0.10,
        postcode_typo=0.003,
        marriage_name=0.15,
        duplicate=0.005,
        invalid=0.001,
    ),
    "medium": ErrorProfile(
        typo=0.02,
        nickname=0.05,
        swap_names=0.01,
        transpose_dob=0.01,
        missing=0.03,
        old_address=0.30,
        postcode_typo=0.01,
        marriage_name=0.35,
        duplicate=0.02,
        invalid=0.005,
    ),
    "high": ErrorProfile(
        typo=0.06,
        nickname=0.12,
        swap_names=0.03,
        transpose_dob=0.03,
        missing=0.08,
        old_address=0.60,
        postcode_typo=0.03,
        marriage_name=0.70,
        duplicate=0.05,
        invalid=0.02,
    ),
}


def get_profile(name: str) -> ErrorProfile:
    """The error profile called ``name`` (none, low, medium, high)."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"unknown error profile {name!r}: choose one of {', '.join(PROFILES)}"
        ) from None


@lru_cache(maxsize=4)
def _nick_series(names: NameTables) -> pl.Series:
    return pl.Series(names.nick_flat.tolist(), dtype=pl.String)


def _typo(col: str) -> pl.Expr:
    s = pl.col(col)
    n = s.str.len_chars().cast(pl.Int64)
    # Slips rarely hit the first letter, so the position is 1 .. len-1.
    pos = (pl.col("_u") * (n - 1)).floor().cast(pl.Int64).clip(0, None) + 1
    ch = pl.col("_ch")
    sub = pl.concat_str(s.str.head(pos), ch, s.str.slice(pos + 1))
    drop = pl.concat_str(s.str.head(pos), s.str.slice(pos + 1))
    ins = pl.concat_str(s.str.head(pos), ch, s.str.slice(pos))
    swap = pl.concat_str(
        s.str.head(pos - 1), s.str.slice(pos, 1), s.str.slice(pos - 1, 1), s.str.slice(pos + 1)
    )
    op = pl.col("_op")
    return (
        pl.when(n < 2)
        .then(s)
        .when(op == 0)
        .then(sub)
        .when((op == 1) & (n >= 3))
        .then(drop)
        .when(op == 2)
        .then(ins)
        .otherwise(swap)
    )


def _postcode_typo() -> pl.Expr:
    pc = pl.col("postcode")
    n = pc.str.len_chars().cast(pl.Int64)
    return (
        pl.when(pl.col("_op") == 0)
        .then(pl.concat_str(pc.str.head(n - 1), pl.col("_ch")))
        .when(pl.col("_op") == 1)
        .then(pl.concat_str(pc.str.head(n - 2), pl.col("_ch"), pc.str.tail(1)))
        .otherwise(pl.concat_str(pc.str.head(n - 3), pl.col("_digit"), pc.str.tail(2)))
    )


_LOWER = pl.Series(list("abcdefghijklmnopqrstuvwxyz"))
_INWARD = pl.Series(list(INWARD_LETTERS))


def _patch(frame: pl.DataFrame, idx: np.ndarray, values: dict[str, pl.Series]) -> pl.DataFrame:
    """Replace the values of some columns at row positions ``idx`` (errors touch few rows)."""
    if idx.size == 0:
        return frame
    return frame.with_columns(
        frame[name].clone().scatter(idx, new.cast(frame[name].dtype))
        for name, new in values.items()
    )


def _notnull(frame: pl.DataFrame, col: str) -> np.ndarray:
    return frame[col].is_not_null().to_numpy()


def inject_errors(
    frame: pl.DataFrame,
    profile: ErrorProfile,
    rng: np.random.Generator,
    names: NameTables,
    *,
    kinds: frozenset[str],
    missable: tuple[str, ...],
    address_columns: tuple[str, ...] = ("address", "postcode", "uprn", "borough"),
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Apply the profile's errors of the given ``kinds`` to canonical rows of one extract.

    ``frame`` holds the canonical columns (given_name, family_name, previous_family_name,
    given_code, date_of_birth, address/postcode/uprn/borough and their ``prev_`` twins,
    moved) as far as the extract has them. Returns the new rows and per-error counts: rows
    (or fields, for typos and blanks) that the error actually changed. ``invalid`` is not
    applied here but to the rendered rows (:func:`accord.synth.invalid.inject_invalid`), as an
    impossible date exists only as text; its count is left at 0 for the caller to fill.
    """
    counts = dict.fromkeys(sorted(kinds), 0)
    cols = set(frame.columns)

    def pick(rate: float, eligible: np.ndarray | None = None) -> np.ndarray:
        hit = rng.random(frame.height) < rate
        return np.flatnonzero(hit if eligible is None else hit & eligible)

    if "duplicate" in kinds:
        idx = pick(profile.duplicate)
        if idx.size:
            frame = frame[np.concatenate([np.arange(frame.height), idx])]
        counts["duplicate"] = int(idx.size)
    if "marriage_name" in kinds and "previous_family_name" in cols:
        idx = pick(profile.marriage_name, _notnull(frame, "previous_family_name"))
        frame = _patch(frame, idx, {"family_name": frame["previous_family_name"].gather(idx)})
        counts["marriage_name"] = int(idx.size)
    if "nickname" in kinds and "given_code" in cols:
        code = frame["given_code"].to_numpy()
        available = names.nick_counts[code]
        idx = pick(profile.nickname, available > 0)
        choice = names.nick_offsets[code[idx]] + (rng.random(idx.size) * available[idx]).astype(
            np.int64
        )
        frame = _patch(frame, idx, {"given_name": _nick_series(names).gather(choice)})
        counts["nickname"] = int(idx.size)
    if "typo" in kinds:
        total = 0
        for col in ("given_name", "family_name"):
            if col not in cols:
                continue
            idx = pick(profile.typo, _notnull(frame, col))
            sub = frame.select(pl.col(col).gather(idx)).with_columns(
                _u=pl.Series(rng.random(idx.size)),
                _op=pl.Series(rng.integers(0, 4, idx.size)),
                _ch=_LOWER.gather(rng.integers(0, 26, idx.size)),
            )
            new = sub.select(_typo(col)).to_series()
            total += int(new.ne_missing(sub[col]).sum())
            frame = _patch(frame, idx, {col: new})
        counts["typo"] = total
    if "swap_names" in kinds:
        idx = pick(profile.swap_names)
        frame = _patch(
            frame,
            idx,
            {
                "given_name": frame["family_name"].gather(idx),
                "family_name": frame["given_name"].gather(idx),
            },
        )
        counts["swap_names"] = int(idx.size)
    if "transpose_dob" in kinds and "date_of_birth" in cols:
        dob = frame["date_of_birth"]
        ok = ((dob.dt.day() <= 12) & (dob.dt.day() != dob.dt.month())).fill_null(False)
        idx = pick(profile.transpose_dob, ok.to_numpy())
        d = dob.gather(idx)
        swapped = pl.select(pl.date(d.dt.year(), d.dt.day(), d.dt.month())).to_series()
        frame = _patch(frame, idx, {"date_of_birth": swapped})
        counts["transpose_dob"] = int(idx.size)
    if "old_address" in kinds and "moved" in cols:
        idx = pick(profile.old_address, frame["moved"].to_numpy())
        present = [c for c in address_columns if c in cols]
        frame = _patch(frame, idx, {c: frame[f"prev_{c}"].gather(idx) for c in present})
        counts["old_address"] = int(idx.size)
    if "postcode_typo" in kinds and "postcode" in cols:
        idx = pick(profile.postcode_typo, _notnull(frame, "postcode"))
        sub = frame.select(pl.col("postcode").gather(idx)).with_columns(
            _op=pl.Series(rng.integers(0, 3, idx.size)),
            _ch=_INWARD.gather(rng.integers(0, len(INWARD_LETTERS), idx.size)),
            _digit=pl.Series(rng.integers(0, 10, idx.size)).cast(pl.String),
        )
        new = sub.select(_postcode_typo()).to_series()
        counts["postcode_typo"] = int(new.ne_missing(sub["postcode"]).sum())
        frame = _patch(frame, idx, {"postcode": new})
    if "missing" in kinds:
        total = 0
        for col in missable:
            idx = pick(profile.missing, _notnull(frame, col))
            frame = _patch(frame, idx, {col: pl.Series([None] * idx.size)})
            total += int(idx.size)
        counts["missing"] = total
    return frame, counts
