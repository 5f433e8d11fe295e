"""What the per-token rate limit costs single-spend ingestion: the service under gunicorn with
`saas.throttle.TokenRateLimitMiddleware`, beside the same service without it (settings
`bench.settings_unlimited`), in alternating slices of the same run, driven by `wrk` as in
bench/ingest.py (one token, 16 connections, a new event_id every request).

    make bench-limiter    # or: python bench/limiter.py [--seconds 4] [--slices 5] [--workers 4]

The issue's target: the limiter costs at most 5 % of single-spend throughput (ratio >= 0.95).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # sets Django up
from django.conf import settings

from saas.embedded import free_port

TARGET = 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description="The rate limiter's cost to single spends.")
    parser.add_argument("--seconds", type=int, default=4, help="per slice")
    parser.add_argument("--slices", type=int, default=5, help="slices of each, alternating")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()
    if not ingest.ready_for_wrk():
        return 2
    run = uuid.uuid4().hex[:6]
    tenant: ingest.Tenant | None = None
    servers: list[subprocess.Popen[bytes]] = []
    try:
        tenant = ingest.make_tenant(f"bench-limiter-{run}")
        limited_port, unlimited_port = free_port(), free_port()
        servers.append(ingest.start_gunicorn(limited_port, args.workers))
        servers.append(ingest.start_gunicorn(
            unlimited_port, args.workers, DJANGO_SETTINGS_MODULE="bench.settings_unlimited",
            PYTHONPATH=str(Path(__file__).resolve().parent.parent)))
        ingest.smoke(tenant, limited_port)
        limited, unlimited = ingest.Tally(), ingest.Tally()
        for slice_number in range(args.slices):
            first = slice_number == 0
            ingest.measure(tenant, unlimited_port, "single", args.seconds, unlimited,
                           warm_up=first)
            ingest.measure(tenant, limited_port, "single", args.seconds, limited, warm_up=first)
            print(f"slice {slice_number + 1}/{args.slices}: with the limit "
                  f"{limited.rate:,.0f} events/s, without {unlimited.rate:,.0f} events/s")
        ratio = limited.rate / unlimited.rate
        mark = "ok" if ratio >= TARGET else "BELOW"
        print(f"\nwith the limit {limited.rate:,.0f} events/s, without {unlimited.rate:,.0f} "
              f"events/s: ratio {ratio:.3f} (target {TARGET:.2f}) {mark}")
        print(json.dumps({"limited": round(limited.rate), "unlimited": round(unlimited.rate),
                          "ratio": round(ratio, 3), "rate": settings.API_RATE_LIMIT}))
    finally:
        for server in servers:
            ingest.stop(server)
        ingest.cleanup(tenant, f"bench_none_{run}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
