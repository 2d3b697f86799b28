"""Load on the API: N concurrent clients on loopback mixing catalogue reads and small queries.

Run from the repository root:  .venv/bin/python bench/bench_api_load.py [--clients 50 --seconds 60]

Builds a small FSM world (the test suite's: the synthetic members, Camden's census ingested, the
FSM agreement active) in a temporary home, serves it with ``accord serve`` in its own process,
and drives it with an httpx async client. Prints requests per second, errors and latency
percentiles. Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from accord import Trust  # noqa: E402
from tests.api.fsm_world import FSM_SQL, build_fsm_world  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client(
    base: str, token: str, agreement: str, until: float, query_share: float, out: dict
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        while time.perf_counter() < until:
            is_query = rng.random() < query_share
            started = time.perf_counter()
            try:
                if is_query:
                    body = {"agreement": agreement, "purpose": "fsm-support", "sql": FSM_SQL}
                    response = await http.post("/api/v1/queries", json=body)
                    ok = response.status_code == 201
                else:
                    path = rng.choice(["/api/v1/datasets", "/api/v1/datasets/camden/school_census"])
                    response = await http.get(path)
                    ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            elapsed = time.perf_counter() - started
            out["query" if is_query else "read"].append(elapsed)
            if not ok:
                out["errors"] += 1


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) > 1 else 0.0


async def drive(base: str, token: str, agreement: str, clients: int, seconds: float, share: float):
    out: dict = {"read": [], "query": [], "errors": 0}
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *(client(base, token, agreement, until, share, out) for _ in range(clients))
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--query-share", type=float, default=0.2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        trust = Trust.init(home, actor="bench")
        agreement = build_fsm_world(trust)
        token = trust.catalogue.rotate_token("analyst@islington.test")
        trust.close()

        port = free_port()
        env = {**os.environ, "ACCORD_HOME": str(home)}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "accord.interfaces.cli.app",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            started = time.perf_counter()
            out = asyncio.run(
                drive(base, token, agreement, args.clients, args.seconds, args.query_share)
            )
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)

    every = out["read"] + out["query"]
    print(f"clients={args.clients} seconds={args.seconds:.0f} query_share={args.query_share}")
    print(f"requests={len(every)} errors={out['errors']} rps={len(every) / wall:.1f}")
    for name, values in (
        ("all", every),
        ("catalogue reads", out["read"]),
        ("queries", out["query"]),
    ):
        print(
            f"{name:16} n={len(values):6} p50={pct(values, 50):7.1f} ms "
            f"p95={pct(values, 95):7.1f} ms p99={pct(values, 99):7.1f} ms"
        )


if __name__ == "__main__":
    main()
