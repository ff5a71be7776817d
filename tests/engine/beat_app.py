"""A Celery app with a beat_schedule of every kind ``gnomon import-beat`` meets (no broker
is contacted: converting only reads the schedule)."""

from __future__ import annotations

from datetime import timedelta

from celery import Celery
from celery.schedules import crontab, schedule, solar

app = Celery(
    "beat_app", broker="redis://:beat-secret@127.0.0.1:6379/9", backend="redis://127.0.0.1:6379/9"
)
app.conf.timezone = "Europe/Berlin"
app.conf.beat_schedule = {
    "add every 30s": {"task": "tasks.add", "schedule": 30.0, "args": (2, 3)},
    "cleanup": {
        "task": "tasks.cleanup",
        "schedule": timedelta(minutes=10),
        "kwargs": {"older_than": 7},
        "options": {"queue": "low", "priority": 3},
    },
    "morning report": {
        "task": "tasks.report",
        "schedule": crontab(minute=0, hour="9,18", day_of_week="mon-fri"),
        "options": {"expires": 600, "exchange": "reports", "routing_key": "daily"},
    },
    "first of quarter": {
        "task": "tasks.quarter",
        "schedule": crontab(minute=30, hour=7, day_of_month=1, month_of_year="1,4,7,10"),
    },
    "lights": {"task": "tasks.lights", "schedule": solar("sunset", 52.52, 13.405)},
    "poll": {"task": "tasks.poll", "schedule": schedule(timedelta(seconds=45))},
    # Cannot be expressed: each is listed with its reason.
    "relative": {"task": "tasks.r", "schedule": schedule(timedelta(hours=1), relative=True)},
    "both days": {"task": "tasks.b", "schedule": crontab(day_of_month=13, day_of_week=5)},
    "countdown": {"task": "tasks.c", "schedule": 60, "options": {"countdown": 5}},
    "not json": {"task": "tasks.n", "schedule": 60, "args": (object(),)},
}
