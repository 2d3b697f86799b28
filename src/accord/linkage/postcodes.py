"""UK postcodes and their hierarchy: unit (NW1 2AB), sector (NW1 2), district (NW1), area (NW).

People move, but mostly not far: a record whose postcode shares the sector or district with the
other is more likely the same person than one across the country. Postcodes that are not UK
shaped (an overseas address, a typing error) keep their cleaned text for exact comparison only.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_UK = re.compile(r"^([A-Z]{1,2})([0-9][A-Z0-9]?)([0-9])([A-Z]{2})$")


class Postcode(NamedTuple):
    unit: str | None
    sector: str | None
    district: str | None
    area: str | None


def parse_postcode(text: str | None) -> Postcode:
    """Normalise a postcode and derive its sector, district and area.

    Examples:
        >>> parse_postcode(" nw12ab ")
        Postcode(unit='NW1 2AB', sector='NW1 2', district='NW1', area='NW')
        >>> parse_postcode("4223")
        Postcode(unit='4223', sector=None, district=None, area=None)
    """
    if not text:
        return Postcode(None, None, None, None)
    cleaned = re.sub(r"[^A-Z0-9]", "", str(text).upper())
    if not cleaned:
        return Postcode(None, None, None, None)
    match = _UK.match(cleaned)
    if not match:
        return Postcode(cleaned, None, None, None)
    area, district_rest, sector_digit, unit_letters = match.groups()
    district = area + district_rest
    return Postcode(
        f"{district} {sector_digit}{unit_letters}", f"{district} {sector_digit}", district, area
    )
