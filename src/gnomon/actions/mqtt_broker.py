"""MQTT brokers: settings from a URL, and one short-lived client session with bounded waits.

Shared by the ``mqtt`` action and (later) device listeners. Accepted URL form (nothing else:
no path, query or fragment)::

    mqtt://[user[:password]@]host[:port]      plain TCP, default port 1883
    mqtts://[user[:password]@]host[:port]     TLS with the system CA store, default port 8883

User name and password are percent-decoded (write ``@`` as ``%40``). The password is never
shown: :meth:`BrokerSettings.display` gives the URL without it, and errors raised here quote
only that form.

:class:`BrokerSession` wraps one paho-mqtt 2.x client (MQTT 5 or 3.1.1, clean session, no
automatic reconnect): paho's network thread records CONNACK, SUBACK, PUBACK/PUBCOMP and
matching messages; the caller's thread waits for them with :meth:`BrokerSession.wait`, which
ends on the session's deadline, on its cancel event, or when the connection drops. Errors::

    GnomonError
    └── MqttError                 one line, fit to show (never the password)
        ├── BrokerUnavailable     cannot connect, login refused, connection lost
        ├── BrokerRefused         the broker answered with a failure reason code
        ├── MqttDeadline          the session's deadline passed while waiting
        └── MqttCancelled         the cancel event was set while waiting
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gnomon.errors import ConfigError, GnomonError

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerSettings:
    """Where a broker is and how to log in; built by :func:`broker_from_url`."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def display(self) -> str:
        """The broker as a URL fit to show a person: the password is left out."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"

    def configure(self, client: mqtt.Client) -> None:
        """Apply credentials and TLS to a paho client; call before ``connect``."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()


def _shown(url: str) -> str:
    """``url`` with any password masked, for error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def broker_from_url(url: str) -> BrokerSettings:
    """Parse ``mqtt://`` / ``mqtts://`` URLs; raise :class:`ConfigError` naming the problem."""
    if not isinstance(url, str) or not url.strip():
        raise ConfigError("broker URL must be a non-empty string like mqtt://host:1883")
    parts = urlsplit(url.strip())
    shown = _shown(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ConfigError(f"broker URL {shown!r}: scheme must be mqtt:// or mqtts://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"broker URL {shown!r}: no path, query or fragment is allowed")
    if not parts.hostname:
        raise ConfigError(f"broker URL {shown!r}: host is missing")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError:
        raise ConfigError(f"broker URL {shown!r}: port must be a number 1-65535") from None
    return BrokerSettings(
        host=parts.hostname,
        port=port,
        tls=scheme == "mqtts",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def decode_payload(data: bytes | bytearray) -> Any:
    """A message payload as JSON when it parses, else as text (invalid UTF-8 replaced)."""
    text = data.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class MqttError(GnomonError):
    """An MQTT exchange did not complete; the message says what and where."""


class BrokerUnavailable(MqttError):
    """The broker cannot be reached, refused the login, or the connection was lost."""


class BrokerRefused(MqttError):
    """The broker answered a SUBSCRIBE or PUBLISH with a failure reason code."""


class MqttDeadline(MqttError):
    """The session's deadline passed while waiting."""


class MqttCancelled(MqttError):
    """The session's cancel event was set while waiting."""


log = logging.getLogger(__name__)
_POLL = 0.1  # how often a wait looks at the cancel event, seconds
_CONNECT_TIMEOUT = 30.0  # CONNACK wait when the session has no deadline


class BrokerSession:
    """One short-lived client: ``connect``, ``subscribe``/``publish``, ``wait``, ``close``.

    ``deadline`` is a :func:`time.monotonic` instant bounding every wait (raising
    :class:`MqttDeadline`); ``cancelled`` is checked while waiting (raising
    :class:`MqttCancelled`). ``accept(message)`` picks, among incoming messages, the first one
    kept as :attr:`matched`. All state written by paho's thread is guarded by one condition.
    """

    def __init__(
        self,
        broker: BrokerSettings,
        *,
        v5: bool = True,
        client_id: str = "",
        deadline: float | None = None,
        cancelled: threading.Event | None = None,
        keepalive: int = 30,
    ) -> None:
        self.broker, self.v5, self.keepalive = broker, v5, keepalive
        self.deadline, self.cancelled = deadline, cancelled or threading.Event()
        self.accept: Callable[[mqtt.MQTTMessage], bool] = lambda _msg: False
        self.matched: mqtt.MQTTMessage | None = None
        self._cond = threading.Condition()
        self._connack: ReasonCode | None = None
        self._lost: str | None = None
        self._acks: dict[int, ReasonCode] = {}
        self._subacks: dict[int, list[ReasonCode]] = {}
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else True,  # MQTT 5: clean start, session expiry 0
            reconnect_on_failure=False,  # a drop ends the session; the caller decides
        )
        broker.configure(self.client)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _record(self, update: Callable[[], None]) -> None:
        with self._cond:
            update()
            self._cond.notify_all()

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._record(lambda: setattr(self, "_connack", rc))

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self._record(lambda: setattr(self, "_lost", self._lost or str(rc)))

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Any) -> None:
        self._record(lambda: self._acks.__setitem__(mid, rc))

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, rcs: list[ReasonCode], _p: Any) -> None:
        self._record(lambda: self._subacks.__setitem__(mid, rcs))

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            wanted = self.matched is None and self.accept(msg)
        except Exception:  # a malformed message must not kill paho's network thread
            log.warning("ignoring a message on %s that could not be examined", msg.topic)
            return
        if wanted:
            self._record(lambda: setattr(self, "matched", msg))

    # -- the caller's side -----------------------------------------------------------------
    def wait(self, ready: Callable[[], bool], what: str, until: float | None = None) -> bool:
        """Wait until ``ready()``; False if ``until`` (a monotonic instant) passed first.

        Raises :class:`BrokerUnavailable` if the connection drops, :class:`MqttCancelled`
        or :class:`MqttDeadline` as described in the class docstring.
        """
        ends = [t for t in (until, self.deadline) if t is not None]
        with self._cond:
            while not ready():
                now = time.monotonic()
                if self._lost is not None:
                    shown = self.broker.display()
                    raise BrokerUnavailable(
                        f"connection to {shown} lost while waiting for {what} ({self._lost})"
                    )
                if self.cancelled.is_set():
                    raise MqttCancelled(f"cancelled while waiting for {what}")
                if self.deadline is not None and now >= self.deadline:
                    raise MqttDeadline(f"waiting for {what}")
                if until is not None and now >= until:
                    return False
                self._cond.wait(min([_POLL, *(t - now for t in ends)]))
        return True

    def connect(self) -> None:
        """Open the connection and wait for a successful CONNACK."""
        start = time.monotonic()
        limit = _CONNECT_TIMEOUT if self.deadline is None else max(0.1, self.deadline - start)
        self.client.connect_timeout = limit
        shown = self.broker.display()
        try:
            self.client.connect(self.broker.host, self.broker.port, keepalive=self.keepalive)
        except (OSError, ValueError) as exc:
            raise BrokerUnavailable(f"cannot connect to {shown}: {exc}") from exc
        self.client.loop_start()
        if not self.wait(lambda: self._connack is not None, "CONNACK", start + limit):
            raise BrokerUnavailable(f"no CONNACK from {shown} within {limit:g} s")
        assert self._connack is not None
        if self._connack.is_failure:
            raise BrokerUnavailable(f"{shown} refused the connection: {self._connack}")

    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe and wait for a SUBACK that grants it."""
        rc, mid = self.client.subscribe(topic, qos=qos)
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise BrokerUnavailable(f"cannot subscribe to {topic!r}: {mqtt.error_string(rc)}")
        self.wait(lambda: mid in self._subacks, "SUBACK")
        codes = self._subacks[mid]
        if not codes or codes[0].is_failure:
            reason = codes[0] if codes else "no reason code"
            raise BrokerRefused(f"broker refused the subscription to {topic!r}: {reason}")

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> ReasonCode:
        """Publish; return once the broker acknowledged it (QoS 0: once it was written).

        Raises :class:`BrokerRefused` when the acknowledgement carries a failure reason code.
        """
        info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=properties)
        what = {0: "the message to be sent", 1: "PUBACK", 2: "PUBCOMP"}[qos]
        if info.rc == mqtt.MQTT_ERR_NO_CONN and self._lost is not None:
            # paho queues the packet and wakes its network thread before it looks at the
            # connection again: the PUBLISH may have gone out, and the connection dropped
            # before this thread got back (paho 2.2 then answers NO_CONN). So the message may
            # have reached the broker: the same case as a PUBACK lost with the connection.
            self.wait(lambda: False, what)  # raises BrokerUnavailable, naming the loss
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BrokerUnavailable(f"cannot publish to {topic!r}: {mqtt.error_string(info.rc)}")
        self.wait(lambda: info.mid in self._acks, what)
        code = self._acks[info.mid]
        if code.is_failure:
            raise BrokerRefused(f"broker refused the message on {topic!r}: {code}")
        return code

    def close(self) -> None:
        """Disconnect and stop paho's thread (safe after any failure, or twice)."""
        self.client.disconnect()
        self.client.loop_stop()
