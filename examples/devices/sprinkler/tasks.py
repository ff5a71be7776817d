"""The lawn sprinkler: water at 06:00 and 19:30, unless the rain flag says not to.

This module uses the zero-argument form: ``schedule_tasks()`` returns task definitions.
The condition is checked when the job fires: ``garden/rain`` (a retained message published
by a rain sensor) equal to ``true`` records the run as skipped.
"""

TIMEZONE = "Europe/Berlin"


def _water(minutes):
    return {
        "kind": "python",
        "config": {
            "ref": "gnomon.devices.guarded:guarded_command",
            "kwargs": {
                "topic": "garden/sprinkler/on",
                "payload": {"minutes": minutes},
                "skip_if": {"topic": "garden/rain", "equals": "true"},
            },
        },
    }


def schedule_tasks():
    return [
        {"name": "morning", "when": "0 6 * * *", "action": _water(20), "max_attempts": 2},
        {"name": "evening", "when": "30 19 * * *", "action": _water(15), "max_attempts": 2},
    ]
