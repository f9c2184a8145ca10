"""`python -m bench [--quick] [--cases 1,4] [--json PATH] [--redis-url URL] [--postgres-url URL]
[--event-loop auto|uvloop|asyncio] [--idle AGENTS:TABS,...] [--profile] [--quiet]`."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bench import plots
from bench.catalog import CASES
from bench.run import run
from screenpop.event_loop import EVENT_LOOPS, EventLoopChoice, choose_event_loop
from screenpop.settings import ServerSettings

LOOP_ENV = "SCREENPOP__SERVER__EVENT_LOOP"  # what `screenpop run --event-loop` sets too

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="screenpop's latency, throughput, CPU and memory, with the daemon, the fake "
        "PBX, the back office and the agents' clients each in their own process (loopback only)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: the smoke test")
    parser.add_argument("--cases", default="", help=f"comma-separated, of {','.join(CASES)}")
    parser.add_argument(
        "--json",
        type=Path,
        default=RESULTS / "latest.json",
        help="where to write the result (a .md table and plots beside it)",
    )
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="a loopback Redis, db 15")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES,
        help="a loopback PostgreSQL on which case 6 makes (and drops) a database of its own",
    )
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        help="the daemons' [server] event_loop (default: not set, so the daemon runs on what a "
        "user's default config gives it: auto, so uvloop where it is installed)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the daemon with py-spy during each measured stretch: profile-*.txt "
        "(folded stacks) and profile-*.top.txt (hottest functions) beside the JSON",
    )
    parser.add_argument(
        "--idle",
        type=idle_sizes,
        default=(),
        help="case 5's sizes instead of the full run's, as AGENTS:BOARD_TABS[,...] (1000:100)",
    )
    parser.add_argument("--no-plots", action="store_true", help="do not draw the PNG plots")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)
    args.only = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in args.only if c not in CASES]
    if unknown:
        parser.error(f"unknown case {unknown[0]!r} (cases: {', '.join(CASES)})")
    return args


def idle_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """`1000:100,100:0` as ((1000, 100), (100, 0))."""
    try:
        pairs = [part.split(":") for part in text.split(",") if part.strip()]
        return tuple((int(agents), int(tabs)) for agents, tabs in pairs)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: AGENTS:BOARD_TABS[,...]") from None


def loop_choice(text: str) -> EventLoopChoice:
    for choice in EVENT_LOOPS:
        if text == choice:
            return choice
    raise SystemExit(f"python -m bench: ${LOOP_ENV}={text!r}: one of {', '.join(EVENT_LOOPS)}")


def main(argv: list[str] | None = None) -> int:
    """Run; print the table; write JSON, Markdown and plots. Exit 1 if a pop was lost."""
    args = parse_args(argv)
    if args.event_loop:  # every daemon of the run inherits it
        os.environ[LOOP_ENV] = args.event_loop
    default = ServerSettings.model_fields["event_loop"].default  # what the daemons get unset
    loop = choose_event_loop(loop_choice(os.environ.get(LOOP_ENV, default)))
    report = asyncio.run(
        run(
            args.quick,
            args.redis_url,
            args.only,
            progress=not args.quiet,
            postgres_url=args.postgres_url,
            profile=args.json.parent if args.profile else None,
            event_loop=loop.describe(),
            idle=args.idle,
        )
    )
    print(report.text())
    report.write(args.json)
    print(f"\nwritten: {args.json} and {args.json.with_suffix('.md')}")
    if not args.no_plots:
        drawn = plots.draw(report.cases, report.floor(), args.json.parent)
        if drawn:
            print("plots: " + ", ".join(str(p) for p in drawn))
        elif not plots.available():
            print("plots: matplotlib is not installed (pip install -e '.[bench]')")
    print(f"took {report.seconds:.0f} s")
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
