"""The `screenpop` command: run, demo, check, lookup, normalize, capture, replay, watch, report,
forget, purge."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from screenpop import __version__
from screenpop.callerid import normalize
from screenpop.errors import ConfigError, ScreenpopError
from screenpop.event_loop import EVENT_LOOPS, EventLoop, choose_event_loop
from screenpop.logging_settings import LoggingSettings
from screenpop.logs import FORMATS, LogFormat, LogSetup, check_level, configure_logging
from screenpop.privacy_cli import add_privacy_commands, run_privacy_command
from screenpop.reports.cli import add_report_command, run_report
from screenpop.settings import CONFIG_ENV, Settings, load_settings

log = logging.getLogger("screenpop")

DEFAULT_URL = "http://127.0.0.1:8080"
LEVEL_ENV = "SCREENPOP_LOG_LEVEL"
FORMAT_ENV = "SCREENPOP_LOG_FORMAT"
EVENT_LOOP_ENV = "SCREENPOP__SERVER__EVENT_LOOP"
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="screenpop",
        description="Caller screen-pop daemon: PBX events in, a merged caller card out to the "
        "agent's browser before pickup.",
    )
    parser.add_argument("--version", action="version", version=f"screenpop {__version__}")
    _add_log_options(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = f"config file (default ${CONFIG_ENV})"

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", help=config_help)
    _add_loop_option(run)

    demo = sub.add_parser(
        "demo",
        help="run the daemon on the bundled demo config (an empty demo call log first gets "
        "three weeks of generated history, for the Reports page)",
    )
    demo.add_argument("--port", type=int, help="web port (default from config/demo.toml: 8080)")
    demo.add_argument("--config", default=str(DEMO_CONFIG), help=argparse.SUPPRESS)
    _add_loop_option(demo)

    check = sub.add_parser("check", help="validate the config, check connectors and sources")
    check.add_argument("--config", help=config_help)
    check.add_argument("--number", help="also look this number up through every connector")

    lookup = sub.add_parser("lookup", help="one fan-out: the card as JSON, timings on stderr")
    lookup.add_argument("number")
    lookup.add_argument("--config", help=config_help)
    lookup.add_argument("--role", help="redact the card as this role sees it")

    norm = sub.add_parser("normalize", help="show how a caller id is normalized")
    norm.add_argument("number")
    norm.add_argument("--region", default="US", help="default region (ISO code, default US)")
    _add_recorder_commands(sub, config_help)
    add_privacy_commands(sub, config_help)
    add_report_command(sub, config_help)
    for command in sub.choices.values():  # also after the command: `screenpop check --log-level`
        _add_log_options(command, default=argparse.SUPPRESS)
    return parser


def _add_log_options(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument(
        "--log-level",
        type=_level,
        default=default,
        help=f"DEBUG, INFO, WARNING, ERROR (default ${LEVEL_ENV}, else the config's [logging] "
        "level, else INFO; phone numbers are unmasked only at DEBUG)",
    )
    parser.add_argument(
        "--log-format",
        choices=FORMATS,
        default=default,
        help=f"text, or json: one object per line (default ${FORMAT_ENV}, else the config's "
        "[logging] format, else text)",
    )


def _add_loop_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        help="auto (uvloop when it is installed, else asyncio's own), uvloop, or asyncio "
        f"(default ${EVENT_LOOP_ENV}, else the config's [server] event_loop, else auto)",
    )


def _level(text: str) -> str:
    try:
        return check_level(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def log_setup(args: argparse.Namespace, environ: Mapping[str, str]) -> LogSetup:
    """What the command line, then `$SCREENPOP_LOG_LEVEL` / `$SCREENPOP_LOG_FORMAT`, chose of
    the logging: it wins over the config's `[logging]`, at start and on every reload."""
    level = args.log_level or environ.get(LEVEL_ENV) or None
    fmt = args.log_format or environ.get(FORMAT_ENV) or None
    if fmt is not None and fmt not in FORMATS:
        raise ConfigError(f"${FORMAT_ENV}={fmt!r}: the log format is text or json")
    try:
        return LogSetup(check_level(level) if level else None, cast(LogFormat | None, fmt))
    except ValueError as exc:
        raise ConfigError(f"${LEVEL_ENV}: {exc}") from None


def log_options(
    args: argparse.Namespace, settings: Settings | None, environ: Mapping[str, str]
) -> tuple[str, LogFormat]:
    """The level and format to log with: the command line, then `$SCREENPOP_LOG_LEVEL` /
    `$SCREENPOP_LOG_FORMAT`, then the config's `[logging]`, then INFO and text."""
    configured = settings.logging if settings is not None else LoggingSettings()
    return log_setup(args, environ).choose(configured.level, configured.format)


def _configure(args: argparse.Namespace, settings: Settings | None) -> None:
    configure_logging(*log_options(args, settings, os.environ))


def _add_recorder_commands(sub: Any, config_help: str) -> None:
    """`capture`, `replay` and `watch`: the flight recorder for a PBX hookup."""
    capture = sub.add_parser(
        "capture",
        help="record a PBX link's raw stream to a file (for replay)",
        description="Connect to one [[telephony]] source (AMI or ESL) as the daemon does, log in, "
        "subscribe, and write every frame received and command sent, with timestamps, until "
        "Ctrl-C / SIGTERM or --duration. The file holds callers' numbers; the login secret is "
        "not written.",
    )
    capture.add_argument("--config", help=config_help)
    capture.add_argument("--source", required=True, help="the [[telephony]] entry's name")
    capture.add_argument("--out", required=True, help="the capture file to write")
    capture.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")

    replay = sub.add_parser(
        "replay",
        help="show the pops and call states a recorded PBX stream produces",
        description="Run a recorded AMI or ESL stream (a `screenpop capture` file or another "
        "known capture format) through the real parser, mapper and call tracker, and print per "
        "agent the pops and call states, then each call's end. Without --config every endpoint "
        "is its own agent.",
    )
    replay.add_argument("file", help="the capture file")
    replay.add_argument("--config", help="map endpoints to agents with this config's [[agents]]")
    replay.add_argument("--region", help="default region for caller ids (default: the config's "
                        "phone.default_region, else US)")  # fmt: skip
    replay.add_argument("--json", action="store_true", help="one JSON document: timeline, calls")

    watch = sub.add_parser(
        "watch",
        help="print an agent's pops and call states as they arrive (no browser needed)",
        description="Connect to the daemon's /ws as an agent (token from $SCREENPOP_TOKEN, else "
        "asked for) and print each pop (caller, customer, sections' status) and call state. "
        "Ctrl-C stops.",
    )
    watch.add_argument("--agent", required=True, help="the agent id whose token you hold")
    watch.add_argument("--url", help="the daemon (default: the config's server.public_origin, "
                       "else http://127.0.0.1:8080)")  # fmt: skip
    watch.add_argument("--config", help="read server.public_origin from this config")
    watch.add_argument("--board", action="store_true", help="also print board snapshots")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _configure(args, None)
        return int(_dispatch(args))
    except ConfigError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "normalize":
        print(json.dumps(normalize(args.number, args.region.upper()).to_json(), indent=2))
        return 0
    if args.command == "demo":
        demo = _demo_settings(args.config, args.port, args.event_loop)
        _configure(args, demo)
        _seed_history(demo)
        return _run(demo, Path(args.config), log_setup(args, os.environ), demo=True)
    if args.command in ("replay", "watch"):
        return _recorder(args)
    if args.command == "run" and args.event_loop:  # as the variable: a SIGHUP reload reads it
        os.environ[EVENT_LOOP_ENV] = args.event_loop
    path = _config_path(args.config)
    settings = load_settings(path)
    _configure(args, settings)
    if args.command == "run":
        return _run(settings, path, log_setup(args, os.environ), demo=False)
    if args.command in ("forget", "purge"):
        return run_privacy_command(args, settings)
    from screenpop import commands

    if args.command == "check":
        return asyncio.run(commands.check(settings, args.number))
    if args.command == "report":
        return run_report(settings, args)
    if args.command == "capture":
        from screenpop.capture import run_capture

        duration = args.duration if args.duration is None or args.duration > 0 else None
        return run_capture(settings, args.source, Path(args.out), duration)
    return asyncio.run(commands.lookup(settings, args.number, args.role))


def _recorder(args: argparse.Namespace) -> int:
    """`replay` and `watch`: a config is optional."""
    settings = load_settings(Path(args.config)) if args.config else None
    _configure(args, settings)
    if args.command == "replay":
        from screenpop.replay_format import replay_file

        return replay_file(Path(args.file), settings, args.region, args.json)
    from screenpop.watch import run_watch

    origin = settings.server.public_origin if settings is not None else None
    return run_watch(args.agent, args.url or origin or DEFAULT_URL, args.board)


def _config_path(given: str | None) -> Path:
    path = given or os.environ.get(CONFIG_ENV)
    if not path:
        raise ConfigError(f"no config: pass --config PATH or set ${CONFIG_ENV}")
    return Path(path)


def _demo_settings(config: str, port: int | None, event_loop: str | None = None) -> Settings:
    from screenpop_demo import build_demo_databases

    path = Path(config)
    build_demo_databases(path.resolve().parent)
    environ = dict(os.environ)
    if port is not None:
        environ["SCREENPOP__SERVER__PORT"] = str(port)
        environ.setdefault("SCREENPOP__SERVER__PUBLIC_ORIGIN", f"http://127.0.0.1:{port}")
    if event_loop:
        environ[EVENT_LOOP_ENV] = event_loop
    return load_settings(path, environ)


def _seed_history(settings: Settings) -> None:
    """An empty demo call log gets three weeks of generated calls (the Reports page's data)."""
    import datetime as dt

    from screenpop.localday import zone
    from screenpop.paths import resolve_url
    from screenpop.store.seed import seed_if_empty
    from screenpop_demo.history import make_history

    tz = zone(settings.ui.timezone) or dt.datetime.now().astimezone().tzinfo or dt.UTC
    today = dt.datetime.now(tz).date()
    url = resolve_url(settings.store.url, settings.base_dir)
    try:
        count = asyncio.run(seed_if_empty(url, lambda: make_history(today, tz).tables()))
    except Exception as exc:  # the demo runs without history rather than not at all
        log.warning("demo: no generated history in the call log: %s", exc)
        return
    if count:
        log.info("demo: %d calls of generated history written to the call log", count)


def _run(settings: Settings, path: Path | None, logs: LogSetup, demo: bool) -> int:
    from screenpop.daemon import Daemon

    demo_dir = path.resolve().parent if demo and path is not None else None

    async def serve() -> None:
        async with Daemon(settings, None if demo else path, logs, demo_dir) as daemon:
            await daemon.serve(lambda port: _announce(settings, path, port, demo))

    loop_kind = choose_event_loop(settings.server.event_loop)
    return _run_until_signal(serve(), loop_kind)


def startup_line(settings: Settings, path: Path | None, base: str) -> str:
    """What was started, for the log: version, config file, address, sources, connectors, agents."""
    sources = ", ".join(f"{s.name} ({s.kind})" for s in settings.telephony) or "none"
    connectors = ", ".join(c.name for c in settings.connectors) or "none"
    config = str(path.resolve()) if path is not None else "(none)"
    return (
        f"screenpop {__version__} started: config {config}; listening on {base}; "
        f"sources: {sources}; connectors: {connectors}; {len(settings.agents)} agents"
    )


def _announce(settings: Settings, path: Path | None, port: int, demo: bool) -> None:
    base = f"http://{settings.server.host}:{port}"
    log.info("%s", startup_line(settings, path, base))
    print(f"screenpop listening on {base}", flush=True)
    print(f"  agent page:      {base}/agent", flush=True)
    print(f"  supervisor page: {base}/supervisor", flush=True)
    print(f"  reports page:    {base}/reports   (roles with reports)", flush=True)
    if demo:
        print(
            f"  demo CRM:        {base}/demo/crm   (the notes the back office received)", flush=True
        )
        print("  demo logins (agent id / token):", flush=True)
        for agent in settings.agents:
            print(f"    {agent.id:<8} {agent.token}   ({agent.role})", flush=True)
        print("  Log in as an agent: a simulated call rings within a few seconds.", flush=True)


def _run_until_signal(coro: Coroutine[Any, Any, None], loop_kind: EventLoop) -> int:
    """Run on `loop_kind` until done or SIGINT/SIGTERM, then shut down cleanly (the daemon
    finishes what it took: see Daemon.web); a second signal cuts that short."""

    async def runner() -> None:
        log.info("event loop: %s", loop_kind.describe())
        task = asyncio.create_task(coro)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, _stop, task, sig)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        with asyncio.Runner(loop_factory=loop_kind.factory) as loop_runner:
            loop_runner.run(runner())
    except ScreenpopError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"screenpop: {exc}", file=sys.stderr)
        return 1
    log.info("screenpop stopped cleanly")
    return 0


def _stop(task: asyncio.Task[None], sig: signal.Signals) -> None:
    if task.done():
        return
    if task.cancelling():
        log.warning("%s again: stopping at once", sig.name)
    else:
        log.info("%s: shutting down (no new connections; what was taken goes out first)", sig.name)
    task.cancel()


if __name__ == "__main__":
    raise SystemExit(main())
