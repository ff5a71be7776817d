"""Named destinations: a broker URL, with its exchange, queue and routing key, set up once.

A ``celery``, ``amqp`` or ``redis`` action names one (``"destination": "orders"``) instead of
repeating a broker URL in every job. Destinations come from two places:

- the setting ``GNOMON_DESTINATIONS`` (a JSON object ``{"orders": {"url": "amqp://…",
  "queue": "orders"}}``, see :func:`gnomon.settings.destinations`), for operators who deploy
  configuration as files or variables;
- the database (``gnomon destination add``, ``PUT /api/v1/destinations/{name}``).

**Settings win**: a name defined in the settings cannot be added, changed or removed in the
database (that is refused with a message saying so), so a name means the same broker for
every process that shares the settings and nothing in the database can shadow it.

A name is resolved when a run executes, not when the job is stored, so changing a
destination's URL changes where every job that names it sends from its next run on. An
unknown name is refused when a job is created; a destination removed later fails each run
that names it with a clear error. Passwords in a destination's URL are never shown: every
view of a destination uses :meth:`Destination.shown_url`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gnomon.errors import InvalidAction, InvalidSpec
from gnomon.models import ActionSpec
from gnomon.redaction import MASK

SCHEMES = ("amqp", "amqps", "pyamqp", "redis", "rediss")
AMQP_SCHEMES = ("amqp", "amqps", "pyamqp")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_FIELDS = ("exchange", "queue", "routing_key")


class UnknownDestination(InvalidAction):
    """An action names a destination that is not defined (in the settings nor the database)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    """A broker URL and where on it messages go; built by :func:`check_destination`."""

    name: str
    url: str = field(repr=False)  # it may hold a password
    exchange: str | None = None
    queue: str | None = None
    routing_key: str | None = None
    source: str = "database"  # or "settings"

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    def shown_url(self) -> str:
        """The URL with its password masked (``amqp://user:***@host//``)."""
        return shown_url(self.url)

    def to_json(self) -> dict[str, Any]:
        """What a person may see: the URL's password masked."""
        shown: dict[str, Any] = {"name": self.name, "url": self.shown_url()}
        shown.update({f: getattr(self, f) for f in _FIELDS})
        shown["source"] = self.source
        return shown


Resolver = Callable[[str], Destination]
"""Looks a destination up by name; raises :class:`UnknownDestination`."""


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
    return parts._replace(netloc=netloc).geturl()


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidSpec(
            f"destination name {name!r} is not valid: use 1-100 letters, digits and _ . - "
            "(starting with a letter or digit)"
        )
    return name


def check_destination(
    name: object,
    url: object,
    *,
    exchange: object = None,
    queue: object = None,
    routing_key: object = None,
    source: str = "database",
) -> Destination:
    """A valid :class:`Destination`, or :class:`InvalidSpec` naming the bad field."""
    name = check_name(name)
    if not isinstance(url, str) or not url.strip():
        raise InvalidSpec(f"destination {name}: url is required (e.g. amqp://host:5672//)")
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidSpec(
            f"destination {name}: url {shown_url(url)!r} must start with one of "
            f"{', '.join(s + '://' for s in SCHEMES)}"
        )
    try:
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        raise InvalidSpec(f"destination {name}: url {shown_url(url)!r} has a bad port") from None
    if not parts.hostname:
        raise InvalidSpec(f"destination {name}: url {shown_url(url)!r} has no host")
    values = {"exchange": exchange, "queue": queue, "routing_key": routing_key}
    checked: dict[str, str | None] = {}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or not value or len(value) > 255):
            raise InvalidSpec(f"destination {name}: {key} must be 1-255 characters of text")
        checked[key] = value
    return Destination(name=name, url=url, source=source, **checked)


def from_mapping(name: str, spec: Any, *, source: str) -> Destination:
    """A destination from ``{"url": …, "exchange": …, "queue": …, "routing_key": …}``."""
    if not isinstance(spec, Mapping):
        raise InvalidSpec(
            f"destination {name}: must be an object with url (and optionally "
            "exchange, queue, routing_key)"
        )
    unknown = set(spec) - {"url", *_FIELDS}
    if unknown:
        raise InvalidSpec(f"destination {name}: unknown field(s) {', '.join(sorted(unknown))}")
    return check_destination(
        name, spec.get("url"), source=source, **{f: spec.get(f) for f in _FIELDS}
    )


def names_in(action: ActionSpec) -> set[str]:
    """The destination names an action refers to (a ``sequence``'s steps included)."""
    config = action.config
    found = {config["destination"]} if isinstance(config.get("destination"), str) else set()
    steps = config.get("steps") if action.kind == "sequence" else None
    for step in steps if isinstance(steps, list) else []:
        inner = step.get("action") if isinstance(step, Mapping) else None
        if isinstance(inner, Mapping) and isinstance(inner.get("kind"), str):
            found |= names_in(ActionSpec(kind=inner["kind"], config=inner.get("config") or {}))
    return found


def require_one_target(kind: str, config: Mapping[str, Any], url_field: str) -> str | None:
    """Check an action gives either ``url_field`` or ``destination``; return the name given.

    Raises :class:`InvalidAction` when both or neither are given, or the name is not valid.
    """
    name = config.get("destination")
    if name is not None and config.get(url_field) is not None:
        raise InvalidAction(f"{kind} action: give {url_field} or destination, not both")
    if name is None and config.get(url_field) is None:
        raise InvalidAction(
            f"{kind} action: {url_field} (a broker URL) or destination "
            "(a named destination) is required"
        )
    if name is not None:
        try:
            check_name(name)
        except InvalidSpec as exc:
            raise InvalidAction(f"{kind} action: {exc}") from None
    return name
