"""``gnomon up``: run the scheduler with its local workers until Ctrl-C.

With a broker (``--broker URL`` or ``GNOMON_BROKER_URL``) it runs the scaled-out processes
instead, as children with prefixed logs (:mod:`gnomon.cli.supervise`): ``gnomon scheduler``,
one ``gnomon worker``, ``gnomon api`` and Flower when it is installed.
"""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import typer

from gnomon.cli import output
from gnomon.cli.state import state
from gnomon.errors import ConfigError

if TYPE_CHECKING:
    from gnomon.api.server import ApiServer
    from gnomon.cli.supervise import ChildSpec
    from gnomon.scheduler import Scheduler
    from gnomon.settings import Settings

log = logging.getLogger(__name__)
FIRST_JOB_HINT = (
    "No jobs yet. Add a first one from another terminal, for example:\n"
    "  gnomon add 'every 1m' --shell -- echo hello\n"
    "  gnomon add 'in 30 seconds' --python gnomon.demo:hello\n"
    "or start with example jobs: gnomon up --demo"
)


def up(  # noqa: C901, PLR0913, PLR0915 - one parameter per option (Typer); the body is known debt: to split
    *,
    demo: bool = typer.Option(False, "--demo", help="Load example jobs that fire within a minute."),
    workers: int | None = typer.Option(None, "--workers", help="Worker threads (default 8)."),
    devices: str | None = typer.Option(
        None,
        "--devices",
        help="Folder of device modules (<device>/tasks.py): discovered now and daily "
        "(default: GNOMON_DEVICES_DIR).",
    ),
    host: str | None = typer.Option(
        None,
        "--host",
        help="Address of the API and dashboard (default: GNOMON_API_HOST, else 127.0.0.1).",
    ),
    port: int | None = typer.Option(
        None,
        "--port",
        help="Port of the API and dashboard "
        "(0: any free port; default: GNOMON_API_PORT, else 8787).",
    ),
    api: bool = typer.Option(True, "--api/--no-api", help="Serve the API and dashboard."),
    lease: float | None = typer.Option(
        None,
        "--lease",
        min=1.0,
        max=86_400.0,
        help="Seconds a run is held without a heartbeat before another scheduler takes it "
        "back (default: GNOMON_LEASE, else 30).",
    ),
    identity: str | None = typer.Option(
        None,
        "--identity",
        help="This scheduler's name among the replicas (default: GNOMON_SCHEDULER_ID, else "
        "the host name, or HOST-2… if taken). Restarted with the same identity, it takes back "
        "at once the runs its killed predecessor held.",
    ),
    recovery_interval: float | None = typer.Option(
        None,
        "--recovery-interval",
        min=0.05,
        max=3600.0,
        help="Seconds between scans for runs whose lease expired (default: "
        "GNOMON_RECOVERY_INTERVAL, else 1).",
    ),
    stop_timeout: float | None = typer.Option(
        None,
        "--stop-timeout",
        min=0.0,
        max=86_400.0,
        help="Seconds a clean stop waits for runs in flight before handing them back "
        "(default: GNOMON_STOP_TIMEOUT, else 30).",
    ),
    broker: str | None = typer.Option(
        None,
        "--broker",
        help="Celery broker URL (redis://…, amqp://…; default: GNOMON_BROKER_URL): run "
        "gnomon scheduler, gnomon worker, gnomon api and Flower as child processes.",
    ),
    scheduler_on: bool | None = typer.Option(
        None, "--scheduler/--no-scheduler", help="With a broker: run gnomon scheduler."
    ),
    worker_on: bool | None = typer.Option(
        None, "--worker/--no-worker", help="With a broker: run one gnomon worker."
    ),
    flower_on: bool | None = typer.Option(
        None, "--flower/--no-flower", help="With a broker: run Flower if it is installed."
    ),
) -> None:
    """Run the scheduler and its workers until Ctrl-C (with --broker: the scaled-out
    processes as children)."""
    from gnomon import service
    from gnomon.scheduler import Scheduler
    from gnomon.service import FinishedRun
    from gnomon.settings import Settings, python_path

    settings = Settings.from_env()
    picked = Components(scheduler_on, worker_on, api, flower_on)
    broker = broker or settings.broker_url
    if broker:
        options = ChildOptions(workers, lease, identity, stop_timeout)
        up_with_broker(
            broker,
            picked,
            options,
            settings,
            demo=demo,
            devices=devices,
            host=host or settings.api_host,
            port=settings.api_port if port is None else port,
        )
        return
    picked.refuse_without_broker()
    devices = devices or settings.devices_dir
    host = host or settings.api_host
    port = settings.api_port if port is None else port

    from gnomon import logs

    logs.setup(
        level=logging.DEBUG if state.verbose else logging.WARNING, log_format=state.log_format
    )
    # Signals first: a stop that comes while gnomon is still starting is a clean stop too.
    stops: list[int] = []
    holder: list[Scheduler] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stops.append(signum)
        if len(stops) == 1:
            if holder:
                holder[0].stop(wait=False)
            return
        # A second Ctrl-C: a person who will not wait (e.g. for a database that is away).
        # Outcomes not yet recorded are lost here, but not their runs: those are still
        # 'running' in the store and are taken back and run again once their lease expires.
        waiting = len(holder[0].dispatcher.in_flight()) if holder else 0
        print(  # noqa: T201 - the start-up banner, not a log line
            f"forced stop: {waiting} run(s) unrecorded; they run again after their lease",
            file=sys.stderr,
            flush=True,
        )
        os._exit(130)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler = _while_unavailable(
        lambda: Scheduler(
            state.db,
            workers=workers,
            lease=lease,
            identity=identity,
            recovery_interval=recovery_interval,
            stop_timeout=stop_timeout,
        ),
        stops,
    )
    holder.append(scheduler)
    if stops:
        scheduler.stop(wait=False)
    console = output.console
    console.print(f"gnomon up — database [bold]{service.database_url(scheduler)}[/]")
    console.print(
        f"--python references import from {', '.join(python_path())}",
        highlight=False,
        soft_wrap=True,
    )
    if devices:
        from gnomon.devices.discovery import apply_discovery, schedule_replanning

        for report in apply_discovery(scheduler, devices):
            mark = "[green]ok[/]" if report.ok else "[red]failed[/]"
            console.print(f"device {report.device}: {mark} {report.error or ''}")
        schedule_replanning(scheduler, devices, database=state.db)
    if demo:
        from gnomon.demo import load_demo, loaded_message

        console.print(loaded_message(load_demo(scheduler)), highlight=False)
    # The pool starts now: the scheduler takes its identity, and with it the runs a killed
    # predecessor of the same identity left, before the loop starts.
    pool = _while_unavailable(lambda: scheduler.dispatcher, stops)
    count = _while_unavailable(lambda: service.count_jobs(scheduler), stops)
    if count == 0:
        console.print(FIRST_JOB_HINT)
    console.print(
        f"{count} job(s) stored; {pool.describe()}; scheduler identity "
        f"[bold]{scheduler.identity}[/]"
    )
    server = start_api(scheduler, host, port) if api else None
    console.print("Press Ctrl-C to stop.")

    def show(item: FinishedRun) -> None:
        style = output.STATUS_STYLE.get(item.status, "white")
        note = f" — {item.error}" if item.error else ""
        if not note and isinstance(item.result, str):
            note = f" — {item.result[:120]}"
        retry = f"; retry at {output.when(item.retry_due)}" if item.retry_due else ""
        console.print(
            f"{output.when(item.finished_at)} {item.job_id} run {item.run_id} "
            f"[{style}]{item.status.value}[/]{note}{retry}"
        )

    scheduler.on_finished(show)
    freeze_startup_objects()

    try:
        scheduler.run_forever()
    finally:
        console.print("stopping: waiting for runs in flight… (Ctrl-C again to force)")
        if server is not None:
            server.stop()
        scheduler.close()
        console.print("stopped")


def freeze_startup_objects() -> None:
    """What is alive once gnomon has started (modules, the store's statements, the API) lives
    as long as the process: leave it out of the garbage collector's full passes. Each pass
    walked it all — ~70,000 objects, 25-40 ms on 2 vCPUs, every ~15 s at 500 fires a second —
    holding the GIL while runs fell due. gnomon's own process only: an application that
    embeds the scheduler decides this for itself (``gc.freeze()``: docs/architecture.md)."""
    gc.freeze()
    log.debug("%d objects alive at start left out of garbage collection", gc.get_freeze_count())


def start_api(scheduler: Scheduler, host: str, port: int) -> ApiServer | None:
    """Serve the API and dashboard from this process; a taken port is reported, not fatal."""
    from gnomon.api import serve_in_background
    from gnomon.errors import ConfigError

    console = output.console
    try:
        server = serve_in_background(scheduler, host, port)
    except ConfigError as exc:
        if "refusing" in str(exc):
            raise  # no auth on a public address: never start half-secured
        console.print(f"[yellow]API and dashboard not started[/]: {exc} (try --port 0)")
        return None
    console.print(f"dashboard and API: [bold]{server.url}[/]  (API docs: {server.url}docs)")
    if server.open_mode:
        from gnomon.open_mode import OPEN_MODE_ADVICE

        console.print(f"[yellow]{OPEN_MODE_ADVICE}[/]", highlight=False)
    return server


def register(app: typer.Typer) -> None:
    app.command()(up)


@dataclass(frozen=True, slots=True)
class Components:
    """What ``gnomon up --broker`` runs; None: not said (on with a broker)."""

    scheduler: bool | None
    worker: bool | None
    api: bool
    flower: bool | None

    def refuse_without_broker(self) -> None:
        said = [
            f"--{'' if on else 'no-'}{name}"
            for name, on in (
                ("scheduler", self.scheduler),
                ("worker", self.worker),
                ("flower", self.flower),
            )
            if on is not None
        ]
        if said:
            raise ConfigError(
                f"{', '.join(said)}: these pick the processes of gnomon up with "
                "a broker; give --broker URL or GNOMON_BROKER_URL"
            )


@dataclass(frozen=True, slots=True)
class ChildOptions:
    """``gnomon up`` options passed on to the children (None: their own defaults)."""

    workers: int | None
    lease: float | None
    identity: str | None
    stop_timeout: float | None


FLOWER_PORT = 5555
CLEAN_STOP_MARGIN = 10.0
"""Seconds a child gets beyond GNOMON_STOP_TIMEOUT to record its outcomes and exit."""


def up_with_broker(
    broker: str,
    picked: Components,
    options: ChildOptions,
    settings: Settings,
    *,
    demo: bool,
    devices: str | None,
    host: str,
    port: int,
) -> None:
    """``gnomon up --broker``: the processes of a scaled-out gnomon as children, until a
    stop (see :mod:`gnomon.cli.supervise`); exits 1 if one of them ended on its own."""
    from gnomon.cli.supervise import Supervisor, run_until_stopped
    from gnomon.settings import EXPORTED, log_format

    if devices:
        raise ConfigError(
            "--devices: device modules are not run with --broker yet; start "
            "gnomon up without a broker for them"
        )
    if demo:
        from gnomon.cli.jobs import open_scheduler
        from gnomon.demo import load_demo, loaded_message

        with open_scheduler() as scheduler:
            output.console.print(loaded_message(load_demo(scheduler)), highlight=False)
    flower = importlib.util.find_spec("flower") is not None
    if not flower and picked.flower is not False:
        if picked.flower:
            raise ConfigError("--flower: Flower is not installed (pip install flower)")
        output.console.print("Flower is not installed (pip install flower): not started")
    if port == 0:  # the API is a child: choose its port here, to be able to say it
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, 0))
            port = probe.getsockname()[1]
    children = broker_children(picked, options, host, port, flower=flower)
    # Settings go in the children's environment: a password in a URL stays out of `ps`.
    env = {**os.environ, EXPORTED["broker_url"]: broker, "PYTHONUNBUFFERED": "1", "COLUMNS": "250"}
    if state.db:
        env[EXPORTED["database_url"]] = state.db
    if state.log_format:
        env[EXPORTED["log_format"]] = state.log_format
    stop_timeout = settings.stop_timeout if options.stop_timeout is None else options.stop_timeout
    supervisor = Supervisor(
        children,
        env=env,
        grace=stop_timeout + CLEAN_STOP_MARGIN,
        log_format=state.log_format or log_format(),
    )
    raise typer.Exit(run_until_stopped(supervisor))


def broker_children(
    picked: Components, options: ChildOptions, host: str, port: int, *, flower: bool
) -> list[ChildSpec]:
    """The command lines of ``gnomon up --broker``'s children, in start order (``flower``:
    whether Flower is installed)."""
    from gnomon.cli.supervise import ChildSpec

    gnomon = (sys.executable, "-m", "gnomon", *(("-v",) if state.verbose else ()))
    children = []
    if picked.scheduler is not False:
        argv = [*gnomon, "scheduler"]
        for option, value in (
            ("--identity", options.identity),
            ("--lease", options.lease),
            ("--stop-timeout", options.stop_timeout),
        ):
            if value is not None:
                argv += [option, str(value)]
        children.append(ChildSpec(name="scheduler", argv=tuple(argv)))
    if picked.worker is not False:
        concurrency = () if options.workers is None else ("--concurrency", str(options.workers))
        children.append(ChildSpec(name="worker", argv=(*gnomon, "worker", *concurrency)))
    if picked.api:
        api = (*gnomon, "api", "--host", host, "--port", str(port))
        children.append(ChildSpec(name="api", argv=api))
    if picked.flower is not False and flower:
        celery = (sys.executable, "-m", "celery", "-A", "gnomon.celery")
        address = (f"--address={host}", f"--port={FLOWER_PORT}")
        children.append(ChildSpec(name="flower", argv=(*celery, "flower", *address)))
    return children


T = TypeVar("T")
START_RETRY_FIRST, START_RETRY_MAX, START_PATIENCE = 0.2, 5.0, 60.0


def _while_unavailable(
    start: Callable[[], T], stops: list[int], sleep: Callable[[float], None] = time.sleep
) -> T:
    """``start()``, tried again while the database is unavailable (another replica holding
    SQLite's lock as both migrate the schema, PostgreSQL restarting), up to
    :data:`START_PATIENCE` seconds or a stop; any other error at once."""
    from gnomon.errors import StoreUnavailable

    delay, waited = START_RETRY_FIRST, 0.0
    while True:
        try:
            return start()
        except StoreUnavailable as exc:
            if stops or waited >= START_PATIENCE:
                raise
            print(f"{exc}; retrying in {delay:.1f} s", file=sys.stderr, flush=True)  # noqa: T201 - progress on stderr while waiting
            sleep(delay)
            waited += delay
            delay = min(delay * 2, START_RETRY_MAX)
