"""``gnomon scheduler`` and ``gnomon worker``: the processes of a scaled-out gnomon.

``gnomon scheduler`` is the daemon alone (no API): with a broker, it sends its runs to Celery
workers; without one, it executes them on its own threads, as ``gnomon up --no-api`` does.
Run any number of them on one PostgreSQL database. ``gnomon worker`` is a Celery worker
(Celery's own ``worker`` command, its options passed through) that executes gnomon's runs.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

import typer

from gnomon.cli import output
from gnomon.cli.state import state
from gnomon.cli.up import _while_unavailable
from gnomon.errors import ConfigError

BROKER_HELP = "Celery broker URL, redis://… or amqp://… (default: GNOMON_BROKER_URL)."


def scheduler(
    broker: str | None = typer.Option(
        None, "--broker", help=BROKER_HELP + " Without one, runs execute on this process's threads."
    ),
    queue: str | None = typer.Option(
        None,
        "--queue",
        help="Broker queue for the runs (default: GNOMON_CELERY_QUEUE, else gnomon).",
    ),
    workers: int | None = typer.Option(
        None, "--workers", help="Local worker threads, without a broker (default 8)."
    ),
    identity: str | None = typer.Option(
        None,
        "--identity",
        help="This scheduler's name among "
        "the replicas (default: GNOMON_SCHEDULER_ID, else the "
        "host name, or HOST-2… if taken).",
    ),
    lease: float | None = typer.Option(
        None,
        "--lease",
        min=1.0,
        max=86_400.0,
        help="Seconds a run is held without a heartbeat (default: GNOMON_LEASE, else 30).",
    ),
    stop_timeout: float | None = typer.Option(
        None,
        "--stop-timeout",
        min=0.0,
        max=86_400.0,
        help="Seconds a clean stop waits for runs in "
        "flight (default: GNOMON_STOP_TIMEOUT, else 30).",
    ),
) -> None:
    """Run the scheduler alone (no API); with a broker, runs go to `gnomon worker`s."""
    import logging

    from gnomon.dispatch.base import Dispatcher
    from gnomon.scheduler import Scheduler
    from gnomon.settings import Settings

    settings = Settings.from_env()
    broker = broker or settings.broker_url
    from gnomon import logs

    logs.setup(
        level=logging.DEBUG if state.verbose else logging.WARNING, log_format=state.log_format
    )
    dispatcher: Dispatcher | None = None
    if broker:
        from gnomon.celery import make_app
        from gnomon.dispatch.celery import CeleryDispatcher

        dispatcher = CeleryDispatcher(
            make_app(settings, broker),
            queue=queue or settings.celery_queue,
            resend_after=settings.resend_after,
        )
    stops: list[int] = []
    holder: list[Scheduler] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        stops.append(signum)
        if holder:
            holder[0].stop(wait=False)
        if len(stops) > 1:
            os._exit(130)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    sched = _while_unavailable(
        lambda: Scheduler(
            state.db,
            dispatcher=dispatcher,
            workers=workers,
            lease=lease,
            identity=identity,
            stop_timeout=stop_timeout,
            settings=settings,
        ),
        stops,
    )
    holder.append(sched)
    if stops:
        sched.stop(wait=False)
    pool = _while_unavailable(lambda: sched.dispatcher, stops)
    output.console.print(f"gnomon scheduler {sched.identity}: {pool.describe()}")
    try:
        sched.run_forever()
    finally:
        sched.close()
        output.console.print("stopped")


WORKER_CONTEXT = {"allow_extra_args": True, "ignore_unknown_options": True}


def worker(
    ctx: typer.Context,
    broker: str | None = typer.Option(None, "--broker", help=BROKER_HELP),
    queue: str | None = typer.Option(
        None, "--queue", help="Broker queue to consume (default: GNOMON_CELERY_QUEUE, else gnomon)."
    ),
) -> None:
    """Run a Celery worker that executes gnomon's runs. Other options go to Celery's worker,
    e.g. `gnomon worker --concurrency 4 --pool prefork`."""
    import logging

    from gnomon.settings import Settings, export

    settings = Settings.from_env()
    broker = broker or settings.broker_url
    if not broker:
        raise ConfigError("gnomon worker needs a broker: --broker URL or GNOMON_BROKER_URL")
    # The worker's processes read their settings from the environment (gnomon.celery).
    export(
        broker_url=broker, database_url=state.db, celery_queue=queue, log_format=state.log_format
    )
    from gnomon import logs
    from gnomon.celery import make_app

    # Before Celery starts: its start-up warnings are log lines too (Celery's setup_logging
    # signal then sets the level it was given, in the same format).
    logs.setup(level=logging.INFO, log_format=state.log_format)
    app = make_app(Settings.from_env())
    argv = ["worker", "--queues", queue or settings.celery_queue, "--loglevel", "INFO"]
    if state.verbose:
        argv[-1] = "DEBUG"
    app.worker_main([*argv, *ctx.args])


def register(app: typer.Typer) -> None:
    app.command()(scheduler)
    app.command(context_settings=WORKER_CONTEXT)(worker)
