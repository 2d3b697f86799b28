"""NHS numbers: 10 digits, the last a modulus-11 check digit, generated vectorised.

All numbers come from the 9xx range that is never issued to patients (kept for test and
synthetic records, as the ``nhs-number`` package's SYNTHETIC region says), so a synthetic
record can never carry a real patient's number.
"""

from __future__ import annotations

import numpy as np

from accord.synth.keys import affine

_WEIGHTS = np.arange(10, 1, -1)  # weights 10..2 for the nine body digits
_BASE = 900_000_000  # nine-digit bodies 900000000..999999999
_HALF = 50_000_000  # scrambled bodies use a second digit of 0-4; a bump of 5 frees 5-9
CAPACITY = _HALF  # distinct valid numbers this scheme can hand out


def check_digits(body: np.ndarray) -> np.ndarray:
    """Modulus-11 check digit for nine-digit bodies; 10 marks a body that has no valid number."""
    digits = (np.asarray(body, dtype=np.int64)[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits * _WEIGHTS).sum(axis=1) % 11
    return np.where(check == 11, 0, check)


def nhs_numbers(person_index: np.ndarray, salt: int) -> np.ndarray:
    """Distinct valid NHS numbers (as int64) for distinct person indexes below ``CAPACITY``.

    A keyed scramble picks a body whose second digit is 0-4; when its check digit would be 10
    (no valid number) that digit is raised by 5, which moves the weighted sum by 5*9 = 45 = 1
    (mod 11), so the check digit becomes 9. Bodies with a second digit of 5-9 are reached
    only this way, so numbers stay distinct.
    """
    if person_index.size and int(person_index.max()) >= CAPACITY:
        raise ValueError(f"at most {CAPACITY:,} distinct synthetic NHS numbers are available")
    body = _BASE + affine(person_index, _HALF, salt)
    check = check_digits(body)
    bump = check == 10
    body = np.where(bump, body + _HALF, body)
    check = np.where(bump, check_digits(body), check)
    return body * 10 + check
