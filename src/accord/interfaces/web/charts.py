"""Charts as server-rendered SVG: no JavaScript, no network, each with a text alternative.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says in words
what it shows; the numbers behind it are also in a table on the same page.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from markupsafe import Markup, escape

from accord.catalogue.models import Dataset, Version
from accord.core.store.base import utcnow

_ids = itertools.count(1)
WIDTH = 640
LABEL_WIDTH = 190
ROW = 28


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    tone: str = ""  # "", "warn", "good", "neutral"


def _svg(title: str, desc: str, height: int, body: str) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="app-chart" role="img" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" aria-labelledby="chart-{n}-title chart-{n}-desc" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="chart-{n}-title">{escape(title)}</title>'
        f'<desc id="chart-{n}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def hbars(
    title: str,
    desc: str,
    bars: Sequence[Bar],
    maximum: float,
    marker: tuple[float, str] | None = None,
) -> Markup:
    """Horizontal bars, one row each, with an optional vertical marker (a limit)."""
    if not bars:
        return Markup("")
    plot = WIDTH - LABEL_WIDTH - 110
    top = 24 if marker else 8
    height = top + ROW * len(bars) + 8
    scale = plot / maximum if maximum > 0 else 0
    parts = []
    for i, bar in enumerate(bars):
        y = top + i * ROW
        width = max(1.0, min(bar.value, maximum) * scale) if bar.value > 0 else 0
        tone = f" bar--{bar.tone}" if bar.tone else ""
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect class="bar{tone}" x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" '
            f'height="{ROW - 8}"/>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 18}">{escape(bar.text)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LABEL_WIDTH}" y1="{top}" x2="{LABEL_WIDTH}" y2="{height - 8}"/>'
    )
    if marker:
        x = LABEL_WIDTH + min(marker[0], maximum) * scale
        parts.append(
            f'<line class="sla" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 4}"/>'
            f'<text x="{x:.1f}" y="14" text-anchor="middle">{escape(marker[1])}</text>'
        )
    return _svg(title, desc, height, "".join(parts))


def freshness(datasets: Sequence[Dataset]) -> Markup:
    """Each dataset's age against its freshness SLA (100% = the SLA)."""
    bars = []
    now = utcnow()
    words = []
    for d in datasets:
        if d.freshness_sla_days is None or d.latest is None:
            continue
        age = (now - d.latest.created_at).total_seconds() / 86400
        share = age / d.freshness_sla_days
        stale = share > 1
        bars.append(
            Bar(
                f"{d.member}/{d.name}",
                share * 100,
                f"{age:.0f} of {d.freshness_sla_days} days" + (" (stale)" if stale else ""),
                "warn" if stale else "good",
            )
        )
        words.append(
            f"{d.member}/{d.name} is {age:.0f} days old against an SLA of "
            f"{d.freshness_sla_days} days{' and is stale' if stale else ''}"
        )
    if not bars:
        return Markup("")
    return hbars(
        "Freshness against each dataset's SLA",
        "; ".join(words) + ".",
        bars,
        maximum=max(150.0, max(b.value for b in bars)),
        marker=(100.0, "SLA"),
    )


def quarantine_rate(versions: Sequence[Version]) -> Markup:
    """The share of rows quarantined in each version."""
    bars, words = [], []
    for v in versions[-12:]:
        rate = 100 * v.rows_quarantined / v.rows_read if v.rows_read else 0.0
        bars.append(
            Bar(
                f"Version {v.number}",
                rate,
                f"{rate:.1f}% ({v.rows_quarantined:,} rows)",
                "warn" if rate >= 5 else "",
            )
        )
        words.append(f"version {v.number}: {rate:.1f}% of {v.rows_read:,} rows quarantined")
    if not bars:
        return Markup("")
    return hbars(
        "Quarantine rate per version",
        "; ".join(words) + ".",
        bars,
        maximum=max(10.0, max(b.value for b in bars) * 1.1),
    )


@dataclass(frozen=True)
class Marker:
    """A vertical line on a histogram (a threshold), with how many values are at or above it."""

    value: float
    label: str
    at_or_above: int


def histogram(
    title: str,
    counts: Sequence[int],
    lo: float,
    hi: float,
    markers: Sequence[Marker] = (),
    *,
    spread: tuple[float, float] | None = None,
    unit: str = "match weight",
    things: str = "pairs",
) -> Markup:
    """A histogram from counts already binned (equal-width bins from ``lo`` to ``hi``), with a
    vertical line at each marker. ``spread`` is the lowest and highest value counted, for the
    text alternative."""
    total = sum(counts)
    if not counts or not total:
        return Markup("")
    bins = len(counts)
    if hi <= lo:
        hi = lo + 1
    left, right, top, bottom = 50, 20, 30, 40
    height = 240
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    peak = max(counts) or 1
    parts = []
    for i, c in enumerate(counts):
        h = plot_h * c / peak
        x = left + i * plot_w / bins
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{plot_w / bins - 1:.1f}" height="{h:.1f}"/>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{WIDTH - right}" '
        f'y2="{top + plot_h}"/>'
        f'<text x="{left}" y="{height - 18}">{lo:.1f}</text>'
        f'<text x="{WIDTH - right}" y="{height - 18}" text-anchor="end">{hi:.1f}</text>'
        f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">{escape(unit)}</text>'
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{peak}</text>'
    )
    words = []
    for marker in markers:
        x = left + (marker.value - lo) / (hi - lo) * plot_w
        parts.append(
            f'<line class="threshold" x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" '
            f'y2="{top + plot_h}"/><text x="{x:.1f}" y="{top - 10}" text-anchor="middle">'
            f"{escape(marker.label)}</text>"
        )
        words.append(
            f"{marker.at_or_above:,} of {total:,} {things} at or above the {marker.label} "
            f"({marker.value:.2f})"
        )
    low, high = spread if spread is not None else (lo, hi)
    desc = (
        f"{total:,} {things} with {unit}s from {low:.1f} to {high:.1f}"
        + (": " + "; ".join(words) if words else "")
        + "."
    )
    return _svg(title, desc, height, "".join(parts))


def waterfall(title: str, start: tuple[str, float], steps: Sequence[tuple[str, float]]) -> Markup:
    """How a total is built: a starting value, then each step's contribution, then the total."""
    if not steps:
        return Markup("")
    running = start[1]
    points = [(start[0], 0.0, running)]
    for label, delta in steps:
        points.append((label, running, running + delta))
        running += delta
    points.append(("Total", 0.0, running))
    lo = min(0.0, *(min(a, b) for _, a, b in points))
    hi = max(0.0, *(max(a, b) for _, a, b in points))
    span = (hi - lo) or 1.0
    plot = WIDTH - LABEL_WIDTH - 80
    height = 8 + ROW * len(points) + 8

    def x(v: float) -> float:
        return LABEL_WIDTH + (v - lo) / span * plot

    parts = []
    for i, (label, a, b) in enumerate(points):
        y = 8 + i * ROW
        first, last = i == 0, i == len(points) - 1
        tone = "neutral" if first or last else ("good" if b >= a else "warn")
        x1, x2 = sorted((x(a), x(b)))
        value = b if first or last else b - a
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 18}" text-anchor="end">{escape(label)}</text>'
            f'<rect class="bar bar--{tone}" x="{x1:.1f}" y="{y + 4}" '
            f'width="{max(1.0, x2 - x1):.1f}" height="{ROW - 8}"/>'
            f'<text x="{x2 + 6:.1f}" y="{y + 18}">{value:+.2f}</text>'
        )
    parts.append(f'<line class="axis" x1="{x(0):.1f}" y1="4" x2="{x(0):.1f}" y2="{height - 4}"/>')
    desc = (
        f"Starting from {start[0]} {start[1]:+.2f}, "
        + ", ".join(f"{label} {delta:+.2f}" for label, delta in steps)
        + f", giving a total of {running:+.2f}."
    )
    return _svg(title, desc, height, "".join(parts))


def timeline(title: str, events: Sequence[tuple[datetime, str]]) -> Markup:
    """Events along a time line, each dot labelled (e.g. an agreement's sign-off)."""
    if not events:
        return Markup("")
    events = sorted(events)
    start, end = events[0][0], events[-1][0]
    span = (end - start).total_seconds() or 1.0
    left, right = 30, 30
    height = 40 + 34 * len(events)
    parts = [f'<line class="axis" x1="{left}" y1="24" x2="{WIDTH - right}" y2="24"/>']
    for i, (when, label) in enumerate(events):
        x = left + (when - start).total_seconds() / span * (WIDTH - left - right)
        y = 56 + 34 * i
        text = f"{when.strftime('%-d %b %Y %H:%M')} – {label}"
        room = len(text) * 7  # roughly, at 14px
        if x + 8 + room <= WIDTH:
            tx, anchor = x + 8, "start"
        elif x - 8 - room >= 0:
            tx, anchor = x - 8, "end"
        else:
            tx, anchor = 4.0, "start"
        parts.append(
            f'<circle class="dot" cx="{x:.1f}" cy="24" r="6"/>'
            f'<line class="axis" x1="{x:.1f}" y1="30" x2="{x:.1f}" y2="{y - 4}"/>'
            f'<text x="{tx:.1f}" y="{y + 10}" text-anchor="{anchor}">{escape(text)}</text>'
        )
    desc = "; ".join(f"{when:%-d %B %Y %H:%M}: {label}" for when, label in events) + "."
    return _svg(title, desc, height, "".join(parts))


def counts_by_day(
    title: str, series: dict[str, Sequence[datetime]], days: int = 30, today: date | None = None
) -> Markup:
    """For each name (e.g. an agreement), how many things (releases) happened each day."""
    if not series:
        return Markup("")
    today = today or utcnow().date()
    first = today - timedelta(days=days - 1)
    rows: dict[str, list[int]] = {}
    for name, times in series.items():
        counts = [0] * days
        for t in times:
            i = (t.date() - first).days
            if 0 <= i < days:
                counts[i] += 1
        rows[name] = counts
    peak = max((max(c) for c in rows.values()), default=0) or 1
    plot = WIDTH - LABEL_WIDTH - 10
    row_h = 44
    height = 24 + row_h * len(rows) + 20
    parts: list[str] = []
    words = []
    for i, (name, counts) in enumerate(rows.items()):
        base = 24 + row_h * (i + 1) - 8
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{base - 8}" text-anchor="end">{escape(name)}</text>'
            f'<line class="axis" x1="{LABEL_WIDTH}" y1="{base}" x2="{WIDTH - 10}" y2="{base}"/>'
        )
        for d, c in enumerate(counts):
            if c:
                h = (row_h - 12) * c / peak
                parts.append(
                    f'<rect class="bar" x="{LABEL_WIDTH + d * plot / days:.1f}" '
                    f'y="{base - h:.1f}" width="{plot / days - 2:.1f}" height="{h:.1f}"/>'
                )
        words.append(f"{name}: {sum(counts)} in the last {days} days")
    parts.append(
        f'<text x="{LABEL_WIDTH}" y="{height - 4}">{first:%-d %b}</text>'
        f'<text x="{WIDTH - 10}" y="{height - 4}" text-anchor="end">{today:%-d %b}</text>'
        f'<text x="{LABEL_WIDTH}" y="14">Busiest day: {peak}</text>'
    )
    return _svg(title, "; ".join(words) + ".", height, "".join(parts))
