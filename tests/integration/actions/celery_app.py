"""A tiny Celery app of "the user's", run by a real worker in the ``celery`` action tests.

Its broker and result backend come from ``GNOMON_TEST_CELERY_BROKER`` and
``GNOMON_TEST_CELERY_BACKEND`` (set by the test that starts the worker); JSON only.
"""

from __future__ import annotations

import os

from celery import Celery

app = Celery(
    "gnomon_test_app",
    broker=os.environ.get("GNOMON_TEST_CELERY_BROKER", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("GNOMON_TEST_CELERY_BACKEND", "redis://127.0.0.1:6379/0"),
)
app.conf.update(
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="tests.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="tests.boom")
def boom(message: str) -> None:
    raise ValueError(message)


@app.task(name="tests.whoami", bind=True)
def whoami(self: object) -> str:
    return str(self.request.id)  # type: ignore[attr-defined]
