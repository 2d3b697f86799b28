"""Deterministic keys and identifiers: seeded bijective scrambles and check characters.

Record ids in the extracts are scrambled row numbers: unique by construction, reproducible
for a seed, and carrying no visible order (so nothing about the truth can be read off them).
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache

import numpy as np
import polars as pl

_SPLIT = 20  # bits; keeps every intermediate product below 2**63


def derive(seed: int, *parts: object) -> int:
    """A 63-bit integer derived from the seed and a purpose, stable across runs and platforms."""
    text = "|".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


@lru_cache(maxsize=256)
def _affine_key(modulus: int, salt: int) -> tuple[int, int]:
    rng = np.random.default_rng(salt)
    a = int(rng.integers(modulus // 3, modulus))
    while math.gcd(a, modulus) != 1:  # a must be invertible mod m for the map to be a bijection
        a += 1
    return a, int(rng.integers(0, modulus))


def affine(x: np.ndarray, modulus: int, salt: int) -> np.ndarray:
    """Map ``x`` to ``(a*x + b) mod modulus``: a bijection of [0, modulus) keyed by ``salt``."""
    if modulus >= 1 << (63 - _SPLIT):
        raise ValueError("modulus too large for overflow-free scrambling")
    a, b = _affine_key(modulus, salt)
    x = np.asarray(x, dtype=np.int64) % modulus
    hi, lo = a >> _SPLIT, a & ((1 << _SPLIT) - 1)
    r = ((hi * x) % modulus * (1 << _SPLIT) + lo * x) % modulus
    return (r + b) % modulus


def padded(values: np.ndarray, width: int, prefix: str = "") -> pl.Series:
    """Integers as fixed-width decimal strings with a prefix, e.g. ``R000123456``."""
    digits = pl.Series(np.asarray(values, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return (prefix + digits) if prefix else digits


def scrambled_ids(rows: np.ndarray, width: int, salt: int, prefix: str = "") -> pl.Series:
    """Unique ids ``prefix`` + ``width`` digits for distinct row numbers below 10**width."""
    return padded(affine(rows, 10**width, salt), width, prefix)


UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def upns(la_code: str, serial: np.ndarray) -> pl.Series:
    """Unique Pupil Numbers: check letter + 3-digit LA number + 9 digits (DfE check letter)."""
    body = int(la_code) * 10**9 + np.asarray(serial, dtype=np.int64)  # 12 digits
    digits = (body[:, None] // 10 ** np.arange(11, -1, -1)) % 10
    # DfE rule: weight the characters in positions 2-13 by 2..13, sum mod 23 picks the letter.
    check = (digits * np.arange(2, 14)).sum(axis=1) % 23
    letters = pl.Series(list(UPN_LETTERS)).gather(check)
    return letters + pl.Series(body).cast(pl.String).str.zfill(12)
