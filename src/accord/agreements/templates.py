"""Agreement templates: commented YAML files for the three stories, filled in on ``new``.

A template may use ``${today}`` and ``${today+N}`` (N days from today) for dates; ``--set
key=value`` replaces one scalar value (a dotted path through mappings) and keeps every comment.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import yaml

from accord.agreements.model import parse_agreement
from accord.errors import InvalidInput, NotFound

TEMPLATE_DIR = Path(__file__).with_name("templates")
_DATE_MARK = re.compile(r"\$\{today(?:\+(\d+))?\}")


def template_names() -> list[str]:
    return sorted(p.stem for p in TEMPLATE_DIR.glob("*.yaml"))


def render_template(
    name: str, sets: dict[str, str] | None = None, *, today: date | None = None
) -> str:
    """The text of template ``name`` with dates filled in and ``sets`` applied.

    Examples:
        >>> text = render_template("fsm", {"retention_days": "180"})
        >>> "retention_days: 180" in text
        True
    """
    path = TEMPLATE_DIR / f"{name}.yaml"
    if not path.exists():
        raise NotFound(f"No template {name!r}: choose from {', '.join(template_names())}")
    day = today or date.today()
    text = _DATE_MARK.sub(
        lambda m: (day + timedelta(days=int(m.group(1) or 0))).isoformat(),
        path.read_text(encoding="utf-8"),
    )
    for key, value in (sets or {}).items():
        text = set_scalar(text, key, value)
    if name != "blank":
        parse_agreement(yaml.safe_load(text), f"template {name}")  # a template must stay valid
    return text


def set_scalar(text: str, dotted: str, value: str) -> str:
    """Replace the scalar at ``dotted`` (e.g. ``purpose.code``) in YAML text, keeping comments."""
    parts = dotted.split(".")
    lines = text.splitlines(keepends=True)
    start, indent = 0, -1
    for depth, part in enumerate(parts):
        found = None
        for i in range(start, len(lines)):
            line = lines[i]
            stripped = line.lstrip(" ")
            level = len(line) - len(stripped)
            if stripped.strip() and not stripped.startswith("#") and level <= indent:
                break  # left the parent mapping
            if stripped.startswith(f"{part}:") and ((depth == 0 and level == 0) or level > indent):
                found, indent = i, level
                break
        if found is None:
            raise InvalidInput(f"--set {dotted}: the template has no key {dotted!r}")
        start = found + 1
    line = lines[found]
    key_part, _, rest = line.partition(":")
    comment = ""
    if " #" in rest:
        comment = "  #" + rest.split(" #", 1)[1].rstrip("\n")
    current = rest.split(" #", 1)[0].strip()
    if current in ("", ">-", "|", ">") and found + 1 < len(lines):
        raise InvalidInput(f"--set {dotted}: only single values can be set (this is a block)")
    rendered = value if _plain(value) else yaml.safe_dump(value, default_style='"').strip()
    lines[found] = f"{key_part}: {rendered}{comment}\n"
    return "".join(lines)


def _plain(value: str) -> bool:
    # Pass through values YAML reads back as the same scalar or flow list, e.g. 180, [a, b].
    try:
        loaded = yaml.safe_load(value)
    except yaml.YAMLError:
        return False
    if isinstance(loaded, dict):
        return False
    return loaded is not None or value in ("null", "~")
