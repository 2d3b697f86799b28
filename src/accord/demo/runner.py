"""Play a story end to end on a fresh trust home, reporting each step to a Reporter."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml

from accord.agreements.templates import render_template
from accord.audit.citizen import CitizenReport, Identifiers
from accord.audit.verify import VerifyReport
from accord.core.crypto.files import write_private
from accord.demo.quality import LinkQuality, link_quality, truth_map
from accord.demo.stories import TITLES, Story
from accord.errors import PermissionDenied
from accord.query.release import Release
from accord.synth import generate_population
from accord.trust import Trust

DEMO_MARKER = ".accord-demo"


class Reporter(Protocol):
    """Where the demo's narration goes (the CLI prints it; tests keep it)."""

    def step(self, number: int, title: str) -> None: ...

    def say(self, text: str) -> None: ...

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None: ...


class SilentReporter:
    def step(self, number: int, title: str) -> None:
        pass

    def say(self, text: str) -> None:
        pass

    def table(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        pass


@dataclass
class DemoResult:
    story: str
    home: Path
    synthetic: Path
    tokens: dict[str, str] = field(default_factory=dict)
    quarantined: dict[str, int] = field(default_factory=dict)
    time_to_active: dict[str, float] = field(default_factory=dict)
    quality: dict[str, LinkQuality] = field(default_factory=dict)
    review: dict[str, int] = field(default_factory=dict)
    releases: dict[str, Release] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    audit: VerifyReport | None = None
    citizen: CitizenReport | None = None


def run_story(
    story: Story,
    home: Path,
    *,
    people: int = 8000,
    seed: int = 2020,
    errors: str = "medium",
    reporter: Reporter | None = None,
    show_rows: int = 10,
) -> DemoResult:
    """Generate the data, set up the trust, sign, link, ask, verify and report."""
    out = reporter or SilentReporter()
    home = Path(home)
    synthetic = home.parent / f"{home.name}-synthetic"
    result = DemoResult(story=story.name, home=home, synthetic=synthetic)

    out.step(1, f"A synthetic population of {people:,} people")
    summary = generate_population(people, seed, synthetic, errors=errors, fmt="csv")
    out.say(
        f"Wrote {len(summary.extracts)} organisations' extracts to {synthetic} ({errors} errors)."
    )

    out.step(2, "Members, users and their data")
    trust = Trust.init(home, actor="demo")
    (home / DEMO_MARKER).write_text(story.name, encoding="utf-8")
    for member in story.members:
        trust.catalogue.add_member(member, TITLES[member])
    for email, member, roles in story.users:
        _, token = trust.catalogue.add_user(email, member, list(roles))
        result.tokens[email] = token
    rows: list[list[Any]] = []
    for ref in story.datasets:
        member, name = ref.split("/")
        trust.catalogue.register_dataset(synthetic / "contracts" / member / f"{name}.yaml")
        ingest = trust.ingest.ingest(ref, synthetic / "extracts" / member / f"{name}.csv")
        result.quarantined[ref] = ingest.rows_quarantined
        reasons = "; ".join(
            f"{label} ({count})" for label, count in list(ingest.reason_counts().items())[:3]
        )
        rows.append([ref, ingest.rows_read, ingest.rows_accepted, ingest.rows_quarantined, reasons])
    out.table(
        "Ingested (rows breaking a contract are quarantined with the reason)",
        ["dataset", "read", "accepted", "quarantined", "why (first reasons)"],
        rows,
    )
    if story.opt_outs:
        added = trust.queries.optouts.import_from_dataset("nhs/national_opt_out")
        out.say(f"Recorded {added:,} national data opt-outs (kept as keyed hashes only).")

    out.step(3, "The data-sharing agreement: drafted, checked and signed")
    for template, agreement_id in story.agreements:
        _sign_agreement(trust, story, template, agreement_id, result, out)

    step = 4
    if story.linked:
        out.step(step, "Linking records that share no common id")
        for agreement_id in story.linked:
            run = trust.linkage.run(agreement_id)
            keys = trust.linkage.keys_path(agreement_id)
            result.review[agreement_id] = run.review_added
            truth = _ground_truth(trust, synthetic, run.datasets)
            if keys is not None:
                quality = link_quality(keys, truth)
                result.quality[agreement_id] = quality
                out.table(
                    f"Linkage for {agreement_id} against the ground truth",
                    ["records", "clusters", "precision", "recall", "F1", "pairs sent to review"],
                    [[
                        run.records, run.clusters, f"{quality.precision:.4f}",
                        f"{quality.recall:.4f}", f"{quality.f1:.4f}", run.review_added,
                    ]],
                )  # fmt: skip
        step += 1

    out.step(step, "Questions asked, answers checked before they leave")
    for ask in story.asks:
        try:
            release = trust.acting_as(ask.user).queries.ask(
                ask.user, ask.agreement, ask.purpose, ask.sql
            )
        except PermissionDenied as refusal:
            result.refusals[ask.label] = refusal.message
            out.say(f"[{ask.label}] REFUSED: {refusal.message}")
            for detail in refusal.details:
                out.say(f"    {detail}")
            continue
        result.releases[ask.label] = release
        out.say(f"[{ask.label}] asked by {ask.user}:\n{ask.sql}")
        shown = release.table.slice(0, show_rows).to_pylist()
        out.table(
            f"Release {release.id}: {release.rows_out} rows, {release.output}, "
            f"{release.people} people",
            release.table.column_names,
            [list(r.values()) for r in shown],
        )
        for change in release.changes:
            out.say(
                f"    disclosure control: row {change.row + 1}, {change.column} "
                f"{change.action}: {change.reason}"
            )
    step += 1

    out.step(step, "The audit log and a citizen's view")
    result.audit = trust.audit.verify()
    out.say(
        f"Audit log: {result.audit.entries} entries, "
        + ("verified: every entry and checkpoint is intact." if result.audit.ok else "BROKEN")
    )
    result.citizen = _citizen_report(trust, story, synthetic, result, out)

    tokens = home / "demo-tokens.txt"
    write_private(tokens, "".join(f"{e}\t{t}\n" for e, t in result.tokens.items()).encode())

    out.step(step + 1, "Summary")
    out.say(
        f"{len(result.releases)} releases made, {len(result.refusals)} refused, "
        f"{sum(result.quarantined.values())} rows quarantined. "
        f"Open this trust in a browser with: accord --home {home} serve "
        f"(then http://127.0.0.1:8000); the demo users' sign-in tokens are in {tokens}."
    )
    trust.close()
    return result


def _sign_agreement(
    trust: Trust,
    story: Story,
    template: str,
    agreement_id: str,
    result: DemoResult,
    out: Reporter,
) -> None:
    text = render_template(template)
    data = yaml.safe_load(text)
    report = trust.agreements.lint(_write(trust.home / f"{agreement_id}.yaml", text))
    out.say(
        f"Lint of {agreement_id}: {len(report.errors)} errors, {len(report.warnings)} warnings."
    )
    for finding in report.findings:
        out.say(f"    {finding.severity}: {finding.message}")
    started = time.perf_counter()
    trust.agreements.propose(data)
    for controller in data["parties"]["controllers"]:
        trust.agreements.sign(agreement_id, f"ig-lead@{controller}.example")
        out.say(f"    {controller}'s IG lead signed.")
    status = trust.agreements.status(agreement_id)
    elapsed = time.perf_counter() - started
    result.time_to_active[agreement_id] = elapsed
    out.say(
        f"{agreement_id} is {status.state}: {elapsed:.2f} s from proposal to active "
        "(on paper, agreements like this took months)."
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _ground_truth(trust: Trust, synthetic: Path, refs: list[str]) -> dict[str, tuple[Path, str]]:
    truth = {}
    for ref in refs:
        member, name = ref.split("/")
        key = trust.catalogue.contract(ref).primary_key[0]
        truth[ref] = (synthetic / "ground_truth" / member / f"{name}.parquet", key)
    return truth


def _citizen_report(
    trust: Trust, story: Story, synthetic: Path, result: DemoResult, out: Reporter
) -> CitizenReport | None:
    """Show the report a person in the first release would see, asking with their own details."""
    person = _released_person(trust, story, synthetic, result)
    if person is None:
        out.say("No release used a record from which a citizen could be picked.")
        return None
    dob = person["date_of_birth"]
    if story.citizen_from.startswith("nhs/"):
        ids = Identifiers(
            nhs_number=f"{person['nhs_number']:010d}"
            if isinstance(person["nhs_number"], int)
            else person["nhs_number"],
            date_of_birth=dob,
        )
        how = "their NHS number and date of birth"
    else:
        ids = Identifiers(
            given_name=person["given_name"],
            family_name=person["family_name"],
            date_of_birth=dob,
            postcode=person["postcode"],
        )
        how = "their name, date of birth and postcode"
    report = trust.citizen.report(ids, client="demo")
    out.say(
        f"{person['given_name']} {person['family_name']} asks, giving {how}: "
        f"{report.uses_summary} {report.holdings_summary}"
    )
    out.table(
        "Who used their records",
        ["when", "organisation", "agreement", "their fields used"],
        [
            [f"{u.made_at:%Y-%m-%d %H:%M}", u.organisation, u.agreement_id,
             ", ".join(sorted({f.split(".", 1)[1] for f in u.fields}))]
            for u in report.uses
        ],
    )  # fmt: skip
    for agreement, purpose in sorted({(u.agreement_id, u.purpose) for u in report.uses}):
        out.say(f"Why ({agreement}): {purpose}")
    out.table(
        "Who holds records about them",
        ["organisation", "dataset", "records"],
        [[h.organisation, h.title, h.records] for h in report.holdings],
    )
    return report


def _released_person(
    trust: Trust, story: Story, synthetic: Path, result: DemoResult
) -> dict[str, Any] | None:
    truth = truth_map(synthetic, story.citizen_from)
    for release in result.releases.values():
        contributors = trust.queries.contributors(release.id)
        for dataset, record in zip(
            contributors.column("dataset").to_pylist(),
            contributors.column("record_key").to_pylist(),
            strict=True,
        ):
            if dataset == story.citizen_from and record in truth:
                people = pq.read_table(synthetic / "people.parquet")
                found = people.filter(pc.equal(people.column("true_person_id"), truth[record]))
                return found.to_pylist()[0]
    return None
