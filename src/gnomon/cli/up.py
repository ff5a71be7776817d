"""``gnomon up``: run the scheduler with its local workers until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

import typer

from gnomon.cli import output
from gnomon.cli.state import state

if TYPE_CHECKING:
    from gnomon.api.server import ApiServer
    from gnomon.scheduler import Scheduler

FIRST_JOB_HINT = (
    "No jobs yet. Add a first one from another terminal, for example:\n"
    "  gnomon add 'every 1m' --shell -- echo hello\n"
    "  gnomon add 'in 30 seconds' --python gnomon.demo:hello\n"
    "or start with example jobs: gnomon up --demo"
)


def up(
    demo: bool = typer.Option(False, "--demo", help="Load example jobs that fire within a minute."),
    workers: int | None = typer.Option(None, "--workers", help="Worker threads (default 8)."),
    devices: str | None = typer.Option(
        None, "--devices",
        help="Folder of device modules (<device>/tasks.py): discovered now and daily "
        "(default: GNOMON_DEVICES_DIR).",
    ),
    host: str | None = typer.Option(None, "--host", help="Address of the API and dashboard "
                                    "(default: GNOMON_API_HOST, else 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port of the API and dashboard "
                                    "(0: any free port; default: GNOMON_API_PORT, else 8787)."),
    api: bool = typer.Option(True, "--api/--no-api", help="Serve the API and dashboard."),
    lease: float | None = typer.Option(
        None, "--lease", min=1.0, max=86_400.0,
        help="Seconds a run is held without a heartbeat before another scheduler takes it "
        "back (default: GNOMON_LEASE, else 30).",
    ),
    identity: str | None = typer.Option(
        None, "--identity",
        help="This scheduler's name among the replicas (default: GNOMON_SCHEDULER_ID, else "
        "the host name, or HOST-2… if taken). Restarted with the same identity, it takes back "
        "at once the runs its killed predecessor held.",
    ),
    recovery_interval: float | None = typer.Option(
        None, "--recovery-interval", min=0.05, max=3600.0,
        help="Seconds between scans for runs whose lease expired (default: "
        "GNOMON_RECOVERY_INTERVAL, else 1).",
    ),
    stop_timeout: float | None = typer.Option(
        None, "--stop-timeout", min=0.0, max=86_400.0,
        help="Seconds a clean stop waits for runs in flight before handing them back "
        "(default: GNOMON_STOP_TIMEOUT, else 30).",
    ),
) -> None:  # fmt: skip
    """Run the scheduler and its workers until Ctrl-C."""
    from gnomon import service
    from gnomon.scheduler import Scheduler
    from gnomon.service import FinishedRun
    from gnomon.settings import Settings

    settings = Settings.from_env()
    devices = devices or settings.devices_dir
    host = host or settings.api_host
    port = settings.api_port if port is None else port

    logging.basicConfig(
        level=logging.DEBUG if state.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
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
        print(f"forced stop: {waiting} run(s) unrecorded; they run again after their lease",
              file=sys.stderr, flush=True)  # fmt: skip
        os._exit(130)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler = _while_unavailable(lambda: Scheduler(
        state.db, workers=workers, lease=lease, identity=identity,
        recovery_interval=recovery_interval, stop_timeout=stop_timeout,
    ), stops)  # fmt: skip
    holder.append(scheduler)
    if stops:
        scheduler.stop(wait=False)
    console = output.console
    console.print(f"gnomon up — database [bold]{service.database_url(scheduler)}[/]")
    if devices:
        from gnomon.devices.discovery import apply_discovery, schedule_replanning

        for report in apply_discovery(scheduler, devices):
            mark = "[green]ok[/]" if report.ok else "[red]failed[/]"
            console.print(f"device {report.device}: {mark} {report.error or ''}")
        schedule_replanning(scheduler, devices, database=state.db)
    if demo:
        ids = ", ".join(__import__("gnomon.demo", fromlist=["x"]).load_demo(scheduler))
        console.print(f"demo jobs loaded: {ids}")
    # The pool starts now: the scheduler takes its identity, and with it the runs a killed
    # predecessor of the same identity left, before the loop starts.
    pool = _while_unavailable(lambda: scheduler.dispatcher, stops)
    count = _while_unavailable(lambda: service.count_jobs(scheduler), stops)
    if count == 0:
        console.print(FIRST_JOB_HINT)
    console.print(f"{count} job(s) stored; {pool.describe()}; scheduler identity "
                  f"[bold]{scheduler.identity}[/]")  # fmt: skip
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

    try:
        scheduler.run_forever()
    finally:
        console.print("stopping: waiting for runs in flight… (Ctrl-C again to force)")
        if server is not None:
            server.stop()
        scheduler.close()
        console.print("stopped")


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
    openapi = f"{server.url}api/v1/openapi.json"
    console.print(f"dashboard and API: [bold]{server.url}[/]  (OpenAPI: {openapi})")
    if server.open_mode:
        from gnomon.open_mode import OPEN_MODE_ADVICE

        console.print(f"[yellow]{OPEN_MODE_ADVICE}[/]", highlight=False)
    return server


def register(app: typer.Typer) -> None:
    app.command()(up)


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
            print(f"{exc}; retrying in {delay:.1f} s", file=sys.stderr, flush=True)
            sleep(delay)
            waited += delay
            delay = min(delay * 2, START_RETRY_MAX)
