"""Helpers for the action tests: MQTT clients, a private Mosquitto that tests may kill, a proxy.

``Subscriber`` and ``Device`` are real paho clients (a recorder and a simulated device).

``private_broker`` is a ``mosquitto`` of our own on a free port (the shared system broker is
never restarted). ``proxy`` sits between a client and that broker and can hold back the
broker's replies once the client's PUBLISH has passed, so "the broker died after receiving
PUBLISH, before the client saw PUBACK" is produced on purpose instead of by timing luck.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.servers import reachable

MOSQUITTO = "/usr/sbin/mosquitto"


class Subscriber:
    """A real paho client that records what arrives on ``topic`` (MQTT 5 or 3.1.1)."""

    def __init__(self, port: int, topic: str, *, v5: bool = True) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.subscribed = threading.Event()
        proto = mqtt.MQTTv5 if v5 else mqtt.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=proto)
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(5), "subscriber got no SUBACK"

    def get(self, timeout: float = 5.0) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=timeout)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Device:
    """A simulated device: a real paho client that answers every command on ``topic``.

    MQTT 5: replies on the command's ResponseTopic with its CorrelationData. MQTT 3.1.1:
    replies on ``<topic>/ack`` with the command's ``correlation`` echoed in a JSON object.
    """

    def __init__(self, topic: str, *, v5: bool = True) -> None:
        self.v5 = v5
        self.commands: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.sub = Subscriber(1883, topic, v5=v5)
        self.sub.client.on_message = self._answer

    def _answer(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.commands.put(msg)
        if self.v5:
            props = Properties(PacketTypes.PUBLISH)
            props.CorrelationData = msg.properties.CorrelationData
            reply = {"state": "on", "seen": json.loads(msg.payload)}
            client.publish(msg.properties.ResponseTopic, json.dumps(reply), 1, properties=props)
        else:
            command = json.loads(msg.payload)
            reply = {"correlation": command["correlation"], "state": "on"}
            client.publish(f"{msg.topic}/ack", json.dumps(reply), qos=1)

    def close(self) -> None:
        self.sub.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateBroker:
    """A ``mosquitto`` of our own on a free port, which tests may kill and start again."""

    def __init__(self, workdir: Path, *, anonymous: bool = True) -> None:
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.log = workdir / "mosquitto.log"  # a file, not a pipe nobody drains
        allow = "true" if anonymous else "false"  # false and no password file: nobody gets in
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous {allow}\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(100):  # up to 5 s; each round waits on the process, not a sleep
            if reachable("127.0.0.1", self.port, timeout=0.05):
                return
            try:
                self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise RuntimeError(f"mosquitto exited at start: {self.log.read_text()}")
        raise RuntimeError(f"mosquitto did not listen on {self.port} within 5 s")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()  # SIGKILL: no goodbye to the clients
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if not os.path.exists(MOSQUITTO):
        reason = f"{MOSQUITTO} is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true)")
        pytest.skip(reason)
    broker = PrivateBroker(tmp_path)
    broker.start()
    yield broker
    broker.kill()


def packet_types(buffer: bytearray) -> list[int]:
    """Take the complete MQTT packets off the front of ``buffer``; return their types."""
    types = []
    while len(buffer) >= 2:
        length, shift, pos = 0, 0, 1
        while pos < len(buffer) and buffer[pos] & 0x80:
            length += (buffer[pos] & 0x7F) << shift
            shift, pos = shift + 7, pos + 1
        if pos >= len(buffer):
            break
        length += buffer[pos] << shift
        end = pos + 1 + length
        if len(buffer) < end:
            break
        types.append(buffer[0] >> 4)
        del buffer[:end]
    return types


class HoldingProxy:
    """TCP proxy to a broker that can hold back everything the broker sends after PUBLISH.

    With ``hold`` on, once the client's PUBLISH passes, the broker's replies (the PUBACK) are
    kept until :meth:`release`; if the broker dies meanwhile they are dropped and the client's
    connection is closed, exactly as if the broker had died before acknowledging.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.hold = True
        self.publish_seen = threading.Event()
        self._lock = threading.Lock()
        self._holding = False
        self._held = bytearray()
        self._client: socket.socket | None = None
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._client, self._holding, self._held = client, False, bytearray()
            threading.Thread(target=self._up, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket) -> None:
        pending = bytearray()
        while data := self._recv(client):
            pending.extend(data)
            if 3 in packet_types(pending) and self.hold:  # 3 = PUBLISH
                with self._lock:
                    self._holding = True  # before forwarding, so the PUBACK cannot slip by
            upstream.sendall(data)
            if self._holding:
                self.publish_seen.set()
        self._close(upstream)

    def _down(self, upstream: socket.socket, client: socket.socket) -> None:
        while data := self._recv(upstream):
            with self._lock:
                if self._holding:
                    self._held.extend(data)
                else:
                    client.sendall(data)
        self._close(client)  # the broker is gone: so is the client's connection

    @staticmethod
    def _close(sock: socket.socket) -> None:
        """Shut down first: a bare close() would not wake the other thread's recv()."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def release(self) -> None:
        with self._lock:
            self._holding = False
            if self._client is not None:
                self._client.sendall(bytes(self._held))

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(private_broker: PrivateBroker) -> Iterator[HoldingProxy]:
    holding = HoldingProxy(private_broker.port)
    yield holding
    holding.close()
