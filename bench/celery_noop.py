"""The raw-Celery side of ``bench/celery_bench.py``: a plain Celery app with gnomon's worker
settings (:func:`gnomon.celery.configure`: JSON, ``acks_late``, prefetch 1) and one no-op
task. ``celery -A bench.celery_noop worker`` with ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``
in the environment.

The task counts itself done in Redis (one ``INCR`` on the broker's server); the one that
reaches ``target`` pushes its finishing time to ``KEY:done``, which the benchmark waits on.
"""

from __future__ import annotations

import os
import time

import redis
from celery import Celery

from gnomon.celery import configure

TASK = "bench.noop"
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")

app = Celery("bench", set_as_current=False)
configure(app, BROKER_URL, os.environ.get("BENCH_QUEUE", "bench"))
counter = redis.Redis.from_url(BROKER_URL)  # its pool reconnects after a fork


@app.task(name=TASK, ignore_result=True)
def noop(target: int, key: str) -> None:
    if counter.incr(key) == target:
        counter.rpush(f"{key}:done", repr(time.time()))


celery = app
