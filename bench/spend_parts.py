"""Where a single spend's cost goes: the service beside cut-down copies of its spend view
(`bench/spend_parts_app.py`: the pipeline alone, then with the lock-and-write transaction, then
with the campaigns read, and the read merged into the write as a cost probe), each beside
`bench/bare_view.py`, under gunicorn and wrk as in bench/ingest.py (16 brands x 4 campaigns,
16 connections, a new event_id every request, the agency's host).

    make bench-spend-parts    # or: python bench/spend_parts.py [--seconds 3] [--rounds 6]

Each round runs one slice of every server, the bare view first, in an order that turns round
every other round; a part's figure is the median over the rounds of its ratio to the bare
view's slice of the same round, by rate and by CPU: the bare view's machine CPU per request
over the part's, higher is cheaper (as bench/ingest.py's "by CPU"). The rate limits are raised
for every server here: the pipeline alone runs past the default 1,000 requests a second of one
token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # sets Django up
from django.conf import settings

from saas.embedded import free_port

PARTS = ("pipeline", "write", "read", "merged")
UNLIMITED = {"API_RATE_LIMIT": "1000000/second", "AGENCY_RATE_LIMIT": "1000000/second"}


@dataclass
class Server:
    name: str
    port: int
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)


def start(name: str, schema: str, workers: int) -> tuple[subprocess.Popen[bytes], Server]:
    port = free_port()
    if name == "bare":
        process = ingest.start_gunicorn(port, workers, "bench.bare_view:application",
                                        BENCH_SCHEMA=schema, DATABASE_URL=settings.DATABASE_URL)
    elif name == "service":
        process = ingest.start_gunicorn(port, workers, **UNLIMITED)
    else:
        process = ingest.start_gunicorn(port, workers, "bench.spend_parts_app:application",
                                        SPEND_PART=name, **UNLIMITED)
    return process, Server(name, port)


def slice_of(server: Server, tenant: ingest.Tenant, seconds: int, tag: str) -> None:
    """One wrk slice: its requests a second and the machine's CPU milliseconds a request."""
    script = ingest.wrk_script(tenant, "single", f"{server.name}-{tag}")
    cpu = ingest.busy_seconds()
    rate = ingest.run_wrk(script, server.port, ingest.SINGLE_CONNECTIONS, seconds)
    server.rates.append(rate)
    server.cpu_ms.append((ingest.busy_seconds() - cpu) * 1000 / (rate * seconds))


def report(servers: list[Server]) -> None:
    bare, others = servers[0], servers[1:]
    print(f"\n{'':9} {'events/s':>9} {'CPU ms':>7} {'ratio':>6} {'by CPU':>7}")
    print(f"{bare.name:9} {statistics.median(bare.rates):9,.0f} "
          f"{statistics.median(bare.cpu_ms):7.2f} {1:6.3f} {1:7.3f}")
    summary: dict[str, dict[str, float]] = {}
    for server in others:
        ratio = statistics.median(r / b for r, b in zip(server.rates, bare.rates, strict=True))
        by_cpu = statistics.median(b / c for c, b in zip(server.cpu_ms, bare.cpu_ms,
                                                         strict=True))
        print(f"{server.name:9} {statistics.median(server.rates):9,.0f} "
              f"{statistics.median(server.cpu_ms):7.2f} {ratio:6.3f} {by_cpu:7.3f}")
        summary[server.name] = {"ratio": round(ratio, 3), "cpu_ratio": round(by_cpu, 3),
                                "cpu_ms": round(statistics.median(server.cpu_ms), 3)}
    print(json.dumps(summary))


def main() -> int:
    parser = argparse.ArgumentParser(description="Where a single spend's cost goes.")
    parser.add_argument("--seconds", type=int, default=3, help="per slice")
    parser.add_argument("--rounds", type=int, default=6, help="slices of every server")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    if not ingest.ready_for_wrk():
        return 2
    run = uuid.uuid4().hex[:6]
    schema = f"bench_raw_{run}"
    tenant: ingest.Tenant | None = None
    processes: list[subprocess.Popen[bytes]] = []
    try:
        tenant = ingest.make_tenant(f"bench-parts-{run}")
        ingest.make_scratch(schema, tenant)
        servers = []
        for name in ("bare", *PARTS, "service"):
            process, server = start(name, schema, args.workers)
            processes.append(process)
            servers.append(server)
        ingest.smoke(tenant, servers[-1].port)
        for server in servers:  # a warm-up slice each, not counted
            ingest.run_wrk(ingest.wrk_script(tenant, "single", f"warm-{server.name}-{run}"),
                           server.port, ingest.SINGLE_CONNECTIONS, 2)
        for number in range(args.rounds):
            order = servers[1:] if number % 2 == 0 else servers[:0:-1]
            for server in (servers[0], *order):
                slice_of(server, tenant, args.seconds, f"{run}-{number}")
            print(f"round {number + 1}/{args.rounds}: " + ", ".join(
                f"{s.name} {s.rates[-1]:,.0f}/s {s.cpu_ms[-1]:.2f} ms" for s in servers),
                flush=True)
        report(servers)
    finally:
        for process in processes:
            ingest.stop(process)
        ingest.cleanup(tenant, schema)
    return 0


if __name__ == "__main__":
    sys.exit(main())
