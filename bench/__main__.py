"""`python -m bench [--quick] [--calls N] [--agents N] [--json PATH] [--redis-url URL]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bench.run import params, run

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="screenpop latency and throughput on loopback"
    )
    parser.add_argument("--quick", action="store_true", help="tiny counts: a few seconds")
    parser.add_argument("--calls", type=int, help="calls per series and per burst (default 500)")
    parser.add_argument("--agents", type=int, help="agents connected (default 50)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="a loopback Redis, db 15")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    for name in ("calls", "agents"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table; write the JSON. Exit 1 if a burst lost a pop."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    p = params(args.calls, args.agents, args.quick, args.redis_url)
    report = asyncio.run(run(p, progress=not args.quiet))
    print(report.text())
    report.write(args.json)
    print(f"\nwritten: {args.json}")
    return 0 if all(d.ok for d in report.deliveries.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
