"""The chicken-coop door: open at sunrise, close 20 minutes after sunset.

Each command is confirmed by the door (it acknowledges on MQTT), retried if the door does not
answer, and valid for 30 minutes only: a door that comes back online late never opens on a
stale command.
"""

TIMEZONE = "Europe/Berlin"
LOCATION = (52.52, 13.405)  # latitude, longitude: Berlin


def schedule_tasks(scheduler):
    door = "coop/door"
    scheduler.add(
        "sunrise",
        scheduler.mqtt_command(f"{door}/open", "open", ack_timeout=30, valid_for=1800),
        name="open-door",
        max_attempts=3,
        backoff=60,
    )
    scheduler.add(
        "sunset+20m",
        scheduler.mqtt_command(f"{door}/close", "close", ack_timeout=30, valid_for=1800),
        name="close-door",
        max_attempts=3,
        backoff=60,
    )
