"""Synthetic population: people in four London boroughs and each organisation's view of them.

Example:
    >>> from accord.synth import generate_population
    >>> summary = generate_population(people=2000, seed=7, out=Path("synth"))  # doctest: +SKIP
    >>> summary.row_counts["camden.school_census"]  # doctest: +SKIP
"""

from accord.synth.errors import PROFILES, ErrorProfile, get_profile
from accord.synth.generate import ExtractSummary, PopulationSummary, generate_population
from accord.synth.geography import BOROUGH_SLUGS

__all__ = [
    "BOROUGH_SLUGS",
    "PROFILES",
    "ErrorProfile",
    "ExtractSummary",
    "PopulationSummary",
    "generate_population",
    "get_profile",
]
