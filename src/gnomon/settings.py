"""Settings from ``GNOMON_*`` environment variables (a config file may come later).

=========================== ============================================ ===================
variable                    meaning                                      default
=========================== ============================================ ===================
GNOMON_DATABASE_URL         SQLAlchemy URL or a path to a SQLite file    ``./gnomon.db``
GNOMON_MQTT_URL             ``mqtt://[user:pass@]host[:port]`` (mqtts=TLS) ``mqtt://127.0.0.1:1883``
GNOMON_HTTP_ALLOW           comma list of hosts/CIDRs an ``http`` action  (none)
                            may reach although private or loopback
GNOMON_SECRETS              comma list of values to mask everywhere      (none)
GNOMON_WORKERS              local worker threads                         8
GNOMON_SCHEDULER_ID         this scheduler's identity (see               host name, or
                            :mod:`gnomon.store.identity`)                HOST-2, HOST-3…
GNOMON_LEASE                seconds a run is held without a heartbeat    30
                            before another scheduler takes it back
GNOMON_RECOVERY_INTERVAL    seconds between scans for expired leases     1
GNOMON_STOP_TIMEOUT         seconds a clean stop waits for runs in       30
                            flight before handing them back
GNOMON_EVENT_WEBHOOK        URL that receives every event as a JSON POST (none)
GNOMON_EVENT_MQTT_TOPIC     topic prefix for events (gnomon/events →     (none)
                            gnomon/events/run/failed), on GNOMON_MQTT_URL
=========================== ============================================ ===================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gnomon.errors import ConfigError
from gnomon.redaction import register_secret


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


TIMINGS = (  # variable, default, lowest, highest (seconds)
    ("GNOMON_LEASE", 30.0, 1.0, 86_400.0),
    ("GNOMON_RECOVERY_INTERVAL", 1.0, 0.05, 3_600.0),
    ("GNOMON_STOP_TIMEOUT", 30.0, 0.0, 86_400.0),
)


def _number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float,
    *, whole: bool = False,
) -> float:  # fmt: skip
    """``env[name]`` as a number in ``[low, high]`` (``default`` when unset)."""
    text = env.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{name}: {text!r} is not {kind}") from None
    if not low <= value <= high:  # also refuses nan
        raise ConfigError(f"{name}: {value:g} is out of range {low:g}-{high:g}")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "gnomon.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    http_allow: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)
    workers: int = 8
    scheduler_id: str | None = None
    lease: float = 30.0
    recovery_interval: float = 1.0
    stop_timeout: float = 30.0
    event_webhook: str | None = None
    event_mqtt_topic: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        workers = int(_number(env, "GNOMON_WORKERS", 8, 1, 10_000, whole=True))
        lease, recovery, stop = (_number(env, *timing) for timing in TIMINGS)
        settings = cls(
            database_url=env.get("GNOMON_DATABASE_URL", "gnomon.db"),
            mqtt_url=env.get("GNOMON_MQTT_URL", "mqtt://127.0.0.1:1883"),
            http_allow=_list(env.get("GNOMON_HTTP_ALLOW")),
            secrets=_list(env.get("GNOMON_SECRETS")),
            workers=workers,
            scheduler_id=env.get("GNOMON_SCHEDULER_ID") or None,
            lease=lease,
            recovery_interval=recovery,
            stop_timeout=stop,
            event_webhook=env.get("GNOMON_EVENT_WEBHOOK") or None,
            event_mqtt_topic=env.get("GNOMON_EVENT_MQTT_TOPIC") or None,
        )
        for secret in settings.secrets:
            register_secret(secret)
        return settings
