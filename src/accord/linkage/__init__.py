"""Linkage: finding the same person across organisations' records, with Splink.

The core (``engine.link``) takes sources and returns clusters and scored pairs; it knows nothing
of the trust. ``service.Linkage`` (``trust.linkage``) wires it to agreements, versions, person
keys, the review queue and the audit log.
"""

from __future__ import annotations

import logging

from accord.linkage.engine import LinkConfig, LinkResult, link
from accord.linkage.source import LinkSource

# Splink logs every step and warns about our fixed-weight levels; Accord reports progress itself.
logging.getLogger("splink").setLevel(logging.ERROR)

__all__ = ["LinkConfig", "LinkResult", "LinkSource", "link"]
