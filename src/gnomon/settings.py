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
GNOMON_STATE_DIR            where a scheduler on PostgreSQL keeps its    ``~/.local/state/
                            outcome journal (SQLite: beside the file)    gnomon``
GNOMON_EVENT_WEBHOOK        URL that receives every event as a JSON POST (none)
GNOMON_EVENT_MQTT_TOPIC     topic prefix for events (gnomon/events →     (none)
                            gnomon/events/run/failed), on GNOMON_MQTT_URL
GNOMON_MCP_SERVERS          MCP servers the operator vetted, by name: a   (none)
                            JSON object, or the path of a JSON or YAML
                            file holding one (see :func:`mcp_servers`)
GNOMON_MAX_BODY_BYTES       largest REST API request body (else 413)     1048576 (1 MiB)
GNOMON_DEVICES_DIR          folder of device modules ``gnomon up``       (none)
                            discovers (``--devices``)
GNOMON_API_HOST             address ``gnomon up`` serves the API on      127.0.0.1
GNOMON_API_PORT             its port (0: any free port)                  8787
GNOMON_NOTIFY_URLS          comma list of apprise URLs ``gnomon schedule  (none)
                            notification`` sends to without ``--url``
GNOMON_BROKER_URL           Celery broker (``redis://…``, ``amqp://…``):  (none: runs
                            ``gnomon scheduler`` sends runs to ``gnomon   execute in the
                            worker`` processes through it                 scheduler)
GNOMON_CELERY_QUEUE         the broker queue gnomon's runs go through     ``gnomon``
GNOMON_RESEND_AFTER         seconds a run sent to the broker may wait for 300
                            a worker before it is sent again (a broker
                            that lost it); duplicates are dropped
GNOMON_DESTINATIONS         named broker destinations: a JSON object      (none)
                            ``{"name": {"url": …, "queue": …}}``; they
                            win over the database's (see
                            :func:`destinations`)
GNOMON_KEEP_RUNS_DAYS       days a finished run is kept (0: for ever)    30
GNOMON_KEEP_FAILED_DAYS     days a failed, timed-out or lost run is      90
                            kept (0: for ever)
GNOMON_KEEP_RUNS_PER_JOB    runs kept per job: beyond, its oldest        100000
                            finished runs go (0: no limit)
GNOMON_KEEP_EVENTS_DAYS     days an event is kept once every event       30
                            sink delivered it (0: for ever)
GNOMON_PRUNE_INTERVAL       seconds between a scheduler's prunes of      600
                            old history (0: never; ``gnomon prune``
                            still does; see :mod:`gnomon.retention`)
GNOMON_PYTHONPATH           folders ``--python`` references import from  (none: the
                            (``os.pathsep``-separated), before the       current directory
                            current directory (see :func:`python_path`)  only)
GNOMON_LOG_FORMAT           ``text`` or ``json``: the log lines of every ``text``
                            gnomon process (``--log-format``; see
                            :mod:`gnomon.logs`)
GNOMON_LATITUDE,            where solar schedules without a location are  (none: such a
GNOMON_LONGITUDE            (decimal degrees; see                         schedule is
                            :func:`solar_location`)                       refused)
=========================== ============================================ ===================

Where a setting comes from, first found wins: the process environment, then a ``.env`` file
in the current directory (its ``GNOMON_*`` lines only, ``KEY=value`` as python-dotenv reads
them; other lines are left to whatever else reads the file, e.g. Docker Compose), then the
default above. An explicit ``env`` mapping given to a function here is used alone.

This module is the only reader of ``GNOMON_*`` variables (a test checks it): the rest of gnomon
takes them from :class:`Settings`, :func:`mcp_servers`, :func:`destinations` or
:func:`solar_location`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gnomon.errors import ConfigError
from gnomon.limits import MAX_BODY_BYTES
from gnomon.redaction import register_secret

if TYPE_CHECKING:
    from gnomon.destinations import Destination

MCP_SERVERS_ENV = "GNOMON_MCP_SERVERS"


def mcp_servers(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The MCP servers the operator defined, by name (specs not yet validated).

    ``GNOMON_MCP_SERVERS`` holds a JSON object (``{"time": {"command": [...]}}``) or the path
    of a ``.json``, ``.yaml`` or ``.yml`` file holding one. An ``mcp`` action that names one
    of these servers (``server_name``) needs only the ``write`` scope, even for a stdio
    server: the operator vetted it. Read on every call, so an edit applies to the next run.
    Raises :class:`ConfigError` naming what is wrong.
    """
    raw = (environment() if env is None else env).get(MCP_SERVERS_ENV, "").strip()
    if not raw:
        return {}
    if raw.startswith("{"):
        try:
            servers = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"{MCP_SERVERS_ENV} is not valid JSON: {exc}") from None
    else:
        servers = _servers_file(Path(raw).expanduser())
    if not isinstance(servers, dict) or not all(isinstance(k, str) for k in servers):
        raise ConfigError(f"{MCP_SERVERS_ENV} must be a JSON object mapping names to server specs")
    return servers


def _servers_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{MCP_SERVERS_ENV}: cannot read {str(path)!r} ({exc.strerror or exc}); give a JSON "
            "object or the path of a JSON or YAML file"
        ) from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(
                f"{MCP_SERVERS_ENV}: {str(path)!r} is not valid YAML: {str(exc).splitlines()[0]}"
            ) from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{MCP_SERVERS_ENV}: {str(path)!r} is not valid JSON: {exc}") from None


DESTINATIONS_ENV = "GNOMON_DESTINATIONS"


def destinations(env: Mapping[str, str] | None = None) -> dict[str, Destination]:
    """The named destinations the operator set in ``GNOMON_DESTINATIONS``, by name.

    A JSON object mapping names to ``{"url": …, "exchange": …, "queue": …, "routing_key":
    …}`` (only ``url`` required). Read on every call. These win over destinations stored in
    the database (see :mod:`gnomon.destinations`). Raises :class:`ConfigError` naming what
    is wrong.
    """
    from gnomon.destinations import from_mapping
    from gnomon.errors import InvalidSpec

    raw = (environment() if env is None else env).get(DESTINATIONS_ENV, "").strip()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{DESTINATIONS_ENV} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f'{DESTINATIONS_ENV} must be a JSON object mapping names to {{"url": ...}} objects'
        )
    try:
        found = {name: from_mapping(name, spec, source="settings") for name, spec in data.items()}
    except InvalidSpec as exc:
        raise ConfigError(f"{DESTINATIONS_ENV}: {exc}") from None
    for destination in found.values():
        password = urlsplit(destination.url).password
        if password:  # shown nowhere, even in an error a broker library writes
            register_secret(password)
    return found


def solar_location(env: Mapping[str, str] | None = None) -> tuple[float, float] | None:
    """``(GNOMON_LATITUDE, GNOMON_LONGITUDE)``, the place of solar schedules that name none;
    None when either is unset. Read on every call. Raises :class:`ConfigError` when one is
    not a number."""
    env = environment() if env is None else env
    if "GNOMON_LATITUDE" not in env or "GNOMON_LONGITUDE" not in env:
        return None
    try:
        return float(env["GNOMON_LATITUDE"]), float(env["GNOMON_LONGITUDE"])
    except ValueError:
        raise ConfigError("GNOMON_LATITUDE and GNOMON_LONGITUDE must be numbers") from None


LOG_FORMAT_ENV = "GNOMON_LOG_FORMAT"
LOG_FORMATS = ("text", "json")


def log_format(env: Mapping[str, str] | None = None) -> str:
    """``GNOMON_LOG_FORMAT``: ``text`` (the default) or ``json``. Raises
    :class:`ConfigError` for any other value."""
    value = (environment() if env is None else env).get(LOG_FORMAT_ENV, "").strip().lower()
    if value and value not in LOG_FORMATS:
        raise ConfigError(f"{LOG_FORMAT_ENV}: {value!r} is not one of {', '.join(LOG_FORMATS)}")
    return value or LOG_FORMATS[0]


PYTHONPATH_ENV = "GNOMON_PYTHONPATH"


def python_path(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Where ``"module:function"`` references are imported from, in order: the folders of
    ``GNOMON_PYTHONPATH`` (``os.pathsep``-separated, relative ones from the current
    directory), then the current directory. They come after Python's own path (its
    ``PYTHONPATH`` and installed packages), so a folder here never hides an installed module
    gnomon uses. Every ``gnomon`` command and the schedulers it starts use it."""
    raw = (environment() if env is None else env).get(PYTHONPATH_ENV, "")
    folders = [os.path.abspath(p) for p in raw.split(os.pathsep) if p.strip()]
    return tuple(dict.fromkeys([*folders, os.getcwd()]))


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


TIMINGS = (  # variable, default, lowest, highest (seconds)
    ("GNOMON_LEASE", 30.0, 1.0, 86_400.0),
    ("GNOMON_RECOVERY_INTERVAL", 1.0, 0.05, 3_600.0),
    ("GNOMON_STOP_TIMEOUT", 30.0, 0.0, 86_400.0),
)
KEEP = (  # variable, default, lowest, highest (days; 0 keeps for ever)
    ("GNOMON_KEEP_RUNS_DAYS", 30.0, 0.0, 36_500.0),
    ("GNOMON_KEEP_FAILED_DAYS", 90.0, 0.0, 36_500.0),
    ("GNOMON_KEEP_EVENTS_DAYS", 30.0, 0.0, 36_500.0),
)


def _number(
    env: Mapping[str, str],
    name: str,
    default: float,
    low: float,
    high: float,
    *,
    whole: bool = False,
) -> float:
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


DOTENV = ".env"


def environment() -> Mapping[str, str]:
    """The settings' source: this process's environment over ``./.env``'s ``GNOMON_*`` lines
    (see the module's doc for the order)."""
    path = Path.cwd() / DOTENV
    if not path.is_file():
        return os.environ
    from dotenv import dotenv_values

    try:
        found = dotenv_values(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    ours = {k: v for k, v in found.items() if k.startswith("GNOMON_") and v is not None}
    return {**ours, **os.environ}


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
    state_dir: str | None = None
    event_webhook: str | None = None
    event_mqtt_topic: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    notify_urls: tuple[str, ...] = field(default=(), repr=False)  # they carry credentials
    devices_dir: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8787
    broker_url: str | None = field(default=None, repr=False)  # may carry a password
    celery_queue: str = "gnomon"
    resend_after: float = 300.0
    keep_runs_days: float = 30.0
    keep_failed_days: float = 90.0
    keep_runs_per_job: int = 100_000
    keep_events_days: float = 30.0
    prune_interval: float = 600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = environment() if env is None else env
        workers = int(_number(env, "GNOMON_WORKERS", 8, 1, 10_000, whole=True))
        max_body = int(_number(env, "GNOMON_MAX_BODY_BYTES", MAX_BODY_BYTES, 1, 2**30, whole=True))
        lease, recovery, stop = (_number(env, *timing) for timing in TIMINGS)
        keep_runs, keep_failed, keep_events = (_number(env, *keep) for keep in KEEP)
        per_job = _number(env, "GNOMON_KEEP_RUNS_PER_JOB", 100_000, 0, 10**12, whole=True)
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
            state_dir=env.get("GNOMON_STATE_DIR") or None,
            event_webhook=env.get("GNOMON_EVENT_WEBHOOK") or None,
            event_mqtt_topic=env.get("GNOMON_EVENT_MQTT_TOPIC") or None,
            max_body_bytes=max_body,
            notify_urls=_list(env.get("GNOMON_NOTIFY_URLS")),
            devices_dir=env.get("GNOMON_DEVICES_DIR") or None,
            api_host=env.get("GNOMON_API_HOST") or "127.0.0.1",
            api_port=int(_number(env, "GNOMON_API_PORT", 8787, 0, 65_535, whole=True)),
            broker_url=env.get("GNOMON_BROKER_URL") or None,
            celery_queue=env.get("GNOMON_CELERY_QUEUE") or "gnomon",
            resend_after=_number(env, "GNOMON_RESEND_AFTER", 300.0, 1.0, 7 * 86_400.0),
            keep_runs_days=keep_runs,
            keep_failed_days=keep_failed,
            keep_runs_per_job=int(per_job),
            keep_events_days=keep_events,
            prune_interval=_number(env, "GNOMON_PRUNE_INTERVAL", 600.0, 0.0, 7 * 86_400.0),
        )
        for secret in settings.secrets:
            register_secret(secret)
        return settings


EXPORTED = {
    "database_url": "GNOMON_DATABASE_URL",
    "broker_url": "GNOMON_BROKER_URL",
    "celery_queue": "GNOMON_CELERY_QUEUE",
    "log_format": LOG_FORMAT_ENV,
}


def export(**values: str | None) -> None:
    """Put settings (``database_url``, ``broker_url``, ``celery_queue``, ``log_format``) in
    this process's environment, for the processes it starts that read theirs from it (a
    Celery worker's pool). None leaves a setting as it is."""
    for key, value in values.items():
        if value is not None:
            os.environ[EXPORTED[key]] = value
