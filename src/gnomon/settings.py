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
GNOMON_EVENT_WEBHOOK        URL that receives every event as a JSON POST (none)
GNOMON_EVENT_MQTT_TOPIC     topic prefix for events (gnomon/events →     (none)
                            gnomon/events/run/failed), on GNOMON_MQTT_URL
GNOMON_MAX_BODY_BYTES       largest REST API request body (else 413)     1048576 (1 MiB)
=========================== ============================================ ===================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gnomon.errors import ConfigError
from gnomon.limits import MAX_BODY_BYTES
from gnomon.redaction import register_secret


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = "gnomon.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    http_allow: tuple[str, ...] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)
    workers: int = 8
    event_webhook: str | None = None
    event_mqtt_topic: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        workers = _whole(env, "GNOMON_WORKERS", 8)
        max_body = _whole(env, "GNOMON_MAX_BODY_BYTES", MAX_BODY_BYTES)
        settings = cls(
            database_url=env.get("GNOMON_DATABASE_URL", "gnomon.db"),
            mqtt_url=env.get("GNOMON_MQTT_URL", "mqtt://127.0.0.1:1883"),
            http_allow=_list(env.get("GNOMON_HTTP_ALLOW")),
            secrets=_list(env.get("GNOMON_SECRETS")),
            workers=workers,
            event_webhook=env.get("GNOMON_EVENT_WEBHOOK") or None,
            event_mqtt_topic=env.get("GNOMON_EVENT_MQTT_TOPIC") or None,
            max_body_bytes=max_body,
        )
        for secret in settings.secrets:
            register_secret(secret)
        return settings


def _whole(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of 1 or more from ``env[name]``, or ``default`` when unset."""
    text = env.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"{name}: {text!r} is not a whole number") from None
    if value < 1:
        raise ConfigError(f"{name}: {value} must be 1 or more")
    return value
