"""Access decisions: decisions/s and p50/p99 latency of ``trust.agreements.decide``.

Usage: python bench/bench_decision.py [--agreements 50] [--n 2000]
A SQLite trust with the synthetic members and N active agreements (copies of the FSM, VPS and
homelessness templates) answers single decisions through the full service path (user lookup,
cache check, Cedar), the pure Cedar engine, batched field decisions and whole grants.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from accord import Trust
from accord.agreements.model import parse_agreement
from accord.agreements.templates import render_template
from accord.catalogue.contract import load_contract

CONTRACTS = Path(__file__).parents[1] / "tests" / "agreements" / "contracts"
MEMBERS = ["camden", "islington", "hackney", "haringey", "nhs", "probation", "freshmart"]


def measure(label: str, fn: Callable[[], object], n: int, per_call: int = 1) -> None:
    for _ in range(min(50, n)):
        fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    p50, p99 = times[len(times) // 2] * 1000, times[int(len(times) * 0.99)] * 1000
    rate = per_call * len(times) / sum(times)
    print(
        f"{label:<46} {rate:>10,.0f}/s   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms "
        f"  mean {statistics.fmean(times) * 1000:6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agreements", type=int, default=50)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp()) / "home"
    trust = Trust.init(home, actor="bench")
    for name in MEMBERS:
        trust.catalogue.add_member(name, name.title())
        trust.catalogue.add_user(f"ig@{name}.test", name, ["ig-lead"])
        trust.catalogue.add_user(f"analyst@{name}.test", name, ["analyst"])
    for path in sorted(CONTRACTS.glob("*.yaml")):
        trust.catalogue.register_dataset(load_contract(path))
    started = time.perf_counter()
    templates = ["fsm", "vps", "homelessness"]
    for i in range(args.agreements):
        data = yaml.safe_load(render_template(templates[i % 3]))
        data["id"] = f"{data['id']}-{i}"
        agreement = parse_agreement(data)
        trust.agreements.propose(agreement)
        for controller in agreement.controllers:
            trust.agreements.sign(agreement.id, f"ig@{controller}.test")
    print(
        f"set-up: {args.agreements} agreements proposed and signed by every controller "
        f"in {time.perf_counter() - started:.1f} s"
    )
    started = time.perf_counter()
    trust.agreements._engine = None
    engine = trust.agreements.engine()
    print(f"policy compilation (all agreements, validated): {time.perf_counter() - started:.3f} s")

    fsm = "fsm-camden-islington-0"
    one = {"camden/school_census": {"given_name"}}
    eight = {
        "camden/school_census": {"given_name", "family_name", "date_of_birth", "school_name"},
        "islington/residents": {"resident_id", "household_id", "address", "postcode"},
    }
    user = "analyst@islington.test"
    principal = trust.agreements.principal(user)
    assert principal is not None
    assert trust.agreements.decide(user, fsm, "fsm-support", one).allowed
    agreements = trust.agreements
    n = args.n
    measure(
        "decide(), 1 field, allowed", lambda: agreements.decide(user, fsm, "fsm-support", one), n
    )
    measure(
        "decide(), 8 fields (one Cedar batch), allowed",
        lambda: agreements.decide(user, fsm, "fsm-support", eight),
        n,
    )
    measure(
        "decide(), refused (not a recipient)",
        lambda: agreements.decide("analyst@camden.test", fsm, "fsm-support", one),
        n,
    )
    measure(
        "Cedar engine only, 1 field", lambda: engine.decide(principal, fsm, "fsm-support", one), n
    )
    measure(
        "Cedar engine only, 8 field decisions per batch",
        lambda: engine.decide(principal, fsm, "fsm-support", eight),
        n,
        per_call=9,
    )
    measure(
        "grant() (whole AccessGrant)", lambda: agreements.grant(user, fsm, "fsm-support"), n // 4
    )
    trust.close()


if __name__ == "__main__":
    main()
