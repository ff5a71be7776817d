"""The ``mqtt`` action against real Mosquitto brokers.

The shared broker (127.0.0.1:1883) serves the ordinary cases on unique topics. The restart
cases use a private ``mosquitto`` on a free port, reached through a small TCP proxy that can
hold the broker's replies: so "the broker died after receiving PUBLISH, before we saw PUBACK"
is produced on purpose instead of by timing luck.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gnomon.actions.base import RunContext
from gnomon.actions.mqtt import MqttAction
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from tests.integration.actions.conftest import Device, HoldingProxy, PrivateBroker, Subscriber
from tests.servers import require

CANARY = "CANARY-mqtt-7f3a9c"
ACTION = MqttAction()


def make_ctx(run_id: int = 41, timeout: float | None = 10.0, **kw: Any) -> RunContext:
    when = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    return RunContext(
        job_id="job-mqtt", run_id=run_id, scheduled_for=when, attempt=1, timeout=timeout, **kw
    )


def run(config: dict[str, Any], ctx: RunContext | None = None) -> Outcome:
    return ACTION.execute(ACTION.validate(config), ctx or make_ctx())


@pytest.fixture
def shared_url() -> str:
    host, port = require("mosquitto")
    return f"mqtt://{host}:{port}"


@pytest.fixture
def topic() -> str:
    return f"gnomon-test/{uuid.uuid4().hex}/cmd"


@pytest.fixture
def subscribe() -> Iterator[Any]:
    made: list[Subscriber] = []

    def factory(port: int, topic: str, *, v5: bool = True) -> Subscriber:
        made.append(Subscriber(port, topic, v5=v5))
        return made[-1]

    yield factory
    for sub in made:
        sub.close()


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"payload": "x"}, "topic must be a non-empty string"),
        ({"topic": "home/#"}, "must not contain the wildcards"),
        ({"topic": "home/+/light"}, "must not contain the wildcards"),
        ({"topic": "$SYS/x"}, "not a publishable topic"),
        ({"topic": "t", "qos": 3}, "qos 3 must be 0, 1 or 2"),
        ({"topic": "t", "qos": True}, "qos True must be 0, 1 or 2"),
        ({"topic": "t", "retain": "yes"}, "retain 'yes' must be true or false"),
        ({"topic": "t", "retain": True, "await_ack": True}, "ghost switching"),
        ({"topic": "t", "ack_timeout": 5}, "only apply with await_ack"),
        ({"topic": "t", "await_ack": True, "ack_timeout": 0}, "ack_timeout 0 must be more"),
        ({"topic": "t", "broker": "http://h"}, "scheme must be mqtt:// or mqtts://"),
        ({"topic": "t", "protocol": "4"}, "protocol '4' must be"),
        ({"topic": "t", "protocol": "3.1.1", "await_ack": True}, "needs ack_topic"),
        ({"topic": "t", "protocol": "3.1.1", "message_expiry": 5}, "message_expiry needs"),
        ({"topic": "t", "message_expiry": 1.5}, "whole number of seconds"),
        ({"topic": "t", "await_ack": True, "ack_topic": "t/#"}, "ack_topic 't/#' must not"),
        ({"topic": "t", "await_ack": True, "ack_topic": True, "payload": "on"}, "JSON object"),
        ({"topic": "t", "payload": float("nan")}, "payload must be a string or a JSON value"),
        ({"topic": "t", "payload": {1, 2}}, "payload must be a string or a JSON value"),
        ({"topic": "t", "colour": "red"}, "unknown field(s) colour"),
    ],
)
def test_bad_config_is_refused_with_a_clear_line(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction, match=r"^mqtt action: ") as info:
        ACTION.validate(config)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_broker_password_never_appears_in_validation_errors() -> None:
    with pytest.raises(InvalidAction) as info:
        ACTION.validate({"topic": "t", "broker": f"mqtt://u:{CANARY}@h:99999"})
    assert CANARY not in str(info.value)


def test_validate_normalises_defaults() -> None:
    config = ACTION.validate({"topic": "a/b", "await_ack": True, "ack_timeout": 2.5})
    assert config["qos"] == 1
    assert config["message_expiry"] == 3  # defaults to the ack timeout, rounded up
    assert (
        ACTION.validate({"topic": "a/b", "await_ack": True, "ack_topic": True})["ack_topic"]
        == "a/b/ack"
    )


# -- publishing on the shared broker -------------------------------------------------------


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_delivers_json_payload(
    shared_url: str, topic: str, subscribe: Any, qos: int
) -> None:
    sub = subscribe(1883, topic)
    outcome = run({"topic": topic, "payload": {"on": True}, "qos": qos, "broker": shared_url})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result["reason"] == ("sent" if qos == 0 else "Success")
    msg = sub.get()
    assert json.loads(msg.payload) == {"on": True}
    props = dict(msg.properties.UserProperty)
    assert props["gnomon-run-id"] == "41"
    assert props["gnomon-job-id"] == "job-mqtt"
    assert props["gnomon-scheduled-for"] == "2026-11-23T12:00:00Z"


def test_no_matching_subscribers_is_a_success_with_a_warning(shared_url: str, topic: str) -> None:
    outcome = run({"topic": topic, "payload": "x", "qos": 1})  # broker from settings
    assert outcome.status is RunStatus.SUCCEEDED
    assert outcome.result["reason"] == "No matching subscribers"
    assert "no matching subscribers" in outcome.result["warning"]


def test_retained_message_reaches_a_later_subscriber(
    shared_url: str, topic: str, subscribe: Any
) -> None:
    outcome = run({"topic": topic, "payload": "on", "retain": True})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    try:
        msg = subscribe(1883, topic).get()
        assert (msg.payload, msg.retain) == (b"on", True)
    finally:  # an empty retained message clears it from the shared broker
        run({"topic": topic, "payload": "", "retain": True})


def test_message_expiry_is_sent_on_the_wire(shared_url: str, topic: str, subscribe: Any) -> None:
    sub = subscribe(1883, topic)
    assert run({"topic": topic, "message_expiry": 30}).status is RunStatus.SUCCEEDED
    expiry = sub.get().properties.MessageExpiryInterval
    assert 29 <= expiry <= 30  # the broker forwards the time that is left


def test_unreachable_broker_is_a_failure_without_the_password() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = run({"topic": "t", "broker": f"mqtt://gnomon:{CANARY}@127.0.0.1:{port}"})
    assert outcome.status is RunStatus.FAILED
    assert "cannot connect to mqtt://gnomon@127.0.0.1" in (outcome.error or "")
    assert CANARY not in repr(outcome)


def test_password_absent_from_a_successful_outcome(shared_url: str, topic: str) -> None:
    outcome = run({"topic": topic, "broker": f"mqtt://gnomon:{CANARY}@127.0.0.1:1883"})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert CANARY not in repr(outcome)
    assert "gnomon@127.0.0.1" in outcome.output


# -- request/response: the device acknowledges ----------------------------------------------


@pytest.fixture
def device(shared_url: str, topic: str) -> Iterator[Any]:
    made: list[Device] = []

    def factory(*, v5: bool = True) -> Device:
        made.append(Device(topic, v5=v5))
        return made[-1]

    yield factory
    for dev in made:
        dev.close()


def test_v5_ack_round_trip_makes_the_reply_the_result(topic: str, device: Any) -> None:
    dev = device()
    outcome = run({"topic": topic, "payload": {"set": "on"}, "await_ack": True, "ack_timeout": 5})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"state": "on", "seen": {"set": "on"}}
    command = dev.commands.get(timeout=1)
    props = command.properties
    assert props.CorrelationData == b"41"
    assert props.ResponseTopic.startswith("gnomon/ack/41/")
    assert 4 <= props.MessageExpiryInterval <= 5  # default expiry = ack_timeout
    assert command.retain is False


def test_reply_with_another_correlation_is_ignored(topic: str, subscribe: Any) -> None:
    """A stale reply (another run's correlation) does not count as this run's ack."""
    sub = subscribe(1883, topic)

    def answer_wrongly(client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = b"40"  # the previous attempt's run id
        client.publish(msg.properties.ResponseTopic, "late", 1, properties=props)

    sub.client.on_message = answer_wrongly
    outcome = run({"topic": topic, "await_ack": True, "ack_timeout": 0.5})
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "no ack from device within 0.5 s"


def test_v311_device_acks_on_the_ack_topic(topic: str, device: Any) -> None:
    dev = device(v5=False)
    config = {"topic": topic, "payload": {"set": "off"}, "protocol": "3.1.1"}
    outcome = run({**config, "await_ack": True, "ack_topic": True, "ack_timeout": 5})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"correlation": "41", "state": "on"}
    assert json.loads(dev.commands.get(timeout=1).payload) == {"set": "off", "correlation": "41"}


def test_no_ack_within_ack_timeout_is_a_failure(topic: str, subscribe: Any) -> None:
    subscribe(1883, topic)  # the command is delivered, but nobody answers
    outcome = run({"topic": topic, "await_ack": True, "ack_timeout": 0.3})
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "no ack from device within 0.3 s"
    assert outcome.result["reason"] == "Success"


def test_run_timeout_while_waiting_for_the_ack(shared_url: str, topic: str) -> None:
    ctx = make_ctx(timeout=0.3)
    outcome = run({"topic": topic, "await_ack": True, "ack_timeout": 30}, ctx)
    assert outcome.status is RunStatus.TIMED_OUT
    assert outcome.error == "timed out after 0.3 s waiting for the device's ack"


def test_cancelled_run_stops_waiting(topic: str, subscribe: Any) -> None:
    ctx = make_ctx()
    sub = subscribe(1883, topic)
    sub.client.on_message = lambda *_a: ctx.cancelled.set()  # cancel once the command is out
    outcome = run({"topic": topic, "await_ack": True, "ack_timeout": 30}, ctx)
    assert outcome.status is RunStatus.CANCELLED
    assert "waiting for the device's ack" in (outcome.error or "")


# -- broker restarted mid-publish (private broker + holding proxy) ----------------------------


def run_in_thread(config: dict[str, Any], ctx: RunContext | None = None) -> Any:
    """Start ``run(config)`` in a thread; return (done event, list receiving the outcome)."""
    done, box = threading.Event(), []

    def target() -> None:
        box.append(run(config, ctx))
        done.set()

    threading.Thread(target=target, daemon=True).start()
    return done, box


def test_success_is_recorded_only_after_puback(proxy: HoldingProxy, topic: str) -> None:
    done, box = run_in_thread({"topic": topic, "broker": f"mqtt://127.0.0.1:{proxy.port}"})
    assert proxy.publish_seen.wait(5), "the PUBLISH never reached the proxy"
    assert not done.wait(0.3), "succeeded while the broker's PUBACK was still held back"
    proxy.release()
    assert done.wait(5)
    assert box[0].status is RunStatus.SUCCEEDED, box[0].error


def test_broker_killed_before_puback_fails_and_the_retry_succeeds(
    private_broker: PrivateBroker, proxy: HoldingProxy, topic: str, subscribe: Any
) -> None:
    config = {"topic": topic, "payload": "on", "broker": f"mqtt://127.0.0.1:{proxy.port}"}
    done, box = run_in_thread(config)
    assert proxy.publish_seen.wait(5)
    private_broker.kill()  # the broker got PUBLISH; its PUBACK dies with it
    assert done.wait(5)
    failed = box[0]
    assert failed.status is RunStatus.FAILED
    assert "lost while waiting for PUBACK" in (failed.error or "")

    private_broker.start()  # the broker is back; the runner's retry publishes again
    proxy.hold = False
    sub = subscribe(private_broker.port, topic)
    retried = run(config, make_ctx(run_id=42))
    assert retried.status is RunStatus.SUCCEEDED, retried.error
    assert sub.get().payload == b"on"


class _DropWhilePublishing:
    """Stands in for paho's wake-up socket during one publish: after paho has queued the
    PUBLISH and woken its network thread, hold the publishing thread until that PUBLISH has
    passed the proxy, the broker is dead and paho's network thread has ended. This is the
    interleaving in which paho 2.2's ``publish`` answers NO_CONN for a message it has sent."""

    def __init__(self, client: mqtt.Client, proxy: HoldingProxy, broker: PrivateBroker) -> None:
        self.client, self.proxy, self.broker = client, proxy, broker
        self.real = client._sockpairW  # type: ignore[attr-defined]

    def send(self, data: bytes) -> int:
        sent = int(self.real.send(data))
        self.client._sockpairW = self.real  # type: ignore[attr-defined]  # once only
        assert self.proxy.publish_seen.wait(5), "the PUBLISH never reached the proxy"
        self.broker.kill()
        thread = self.client._thread  # type: ignore[attr-defined]
        if thread is not None:
            thread.join(5)
        assert self.client._thread is None, "paho's network thread did not end"  # type: ignore[attr-defined]
        return sent


def test_a_publish_sent_as_the_connection_drops_is_a_lost_puback(
    private_broker: PrivateBroker, proxy: HoldingProxy, topic: str
) -> None:
    """paho may report "not connected" for a PUBLISH that reached the broker: that is a lost
    PUBACK (the message may have been delivered), not a message that was never sent."""
    from gnomon.actions.mqtt_broker import BrokerSession, BrokerUnavailable, broker_from_url

    session = BrokerSession(broker_from_url(f"mqtt://127.0.0.1:{proxy.port}"))
    try:
        session.connect()
        session.client._sockpairW = _DropWhilePublishing(  # type: ignore[attr-defined]
            session.client, proxy, private_broker
        )
        with pytest.raises(BrokerUnavailable, match="lost while waiting for PUBACK"):
            session.publish(topic, b"on", qos=1)
    finally:
        session.close()


def test_run_timeout_while_the_puback_is_missing(proxy: HoldingProxy, topic: str) -> None:
    config = {"topic": topic, "broker": f"mqtt://127.0.0.1:{proxy.port}"}
    outcome = run(config, make_ctx(timeout=0.5))
    assert proxy.publish_seen.is_set()
    assert outcome.status is RunStatus.TIMED_OUT
    assert outcome.error == "timed out after 0.5 s waiting for PUBACK"


def test_broker_down_is_a_visible_failure(private_broker: PrivateBroker, topic: str) -> None:
    private_broker.kill()
    # Hold the dead broker's port, bound but not listening: a connect is refused for sure.
    # Left free, the port (in the ephemeral range) can be taken by another socket or even by
    # our own client's source port (a TCP self-connect), which then "answers" the CONNECT.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", private_broker.port))
        outcome = run({"topic": topic, "broker": f"mqtt://127.0.0.1:{private_broker.port}"})
    assert outcome.status is RunStatus.FAILED
    assert "Connection refused" in (outcome.error or "")


def test_password_echoed_by_a_device_is_masked(topic: str, subscribe: Any) -> None:
    sub = subscribe(1883, topic)

    def echo(client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = msg.properties.CorrelationData
        reply = json.dumps({"heard_from": f"pass={CANARY}"})
        client.publish(msg.properties.ResponseTopic, reply, 1, properties=props)

    sub.client.on_message = echo
    broker = f"mqtt://gnomon:{CANARY}@127.0.0.1:1883"
    outcome = run({"topic": topic, "broker": broker, "await_ack": True, "ack_timeout": 5})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"heard_from": "pass=***"}
    assert CANARY not in repr(outcome)


def test_refused_login_is_a_failure_naming_the_reason(
    private_broker: PrivateBroker, tmp_path: Path, topic: str
) -> None:
    (tmp_path / "locked").mkdir()  # private_broker (unused) skips when mosquitto is missing
    locked = PrivateBroker(tmp_path / "locked", anonymous=False)
    locked.start()
    try:
        broker = f"mqtt://gnomon:{CANARY}@127.0.0.1:{locked.port}"
        outcome = run({"topic": topic, "broker": broker})
    finally:
        locked.kill()
    assert outcome.status is RunStatus.FAILED
    assert (
        outcome.error
        == f"mqtt://gnomon@127.0.0.1:{locked.port} refused the connection: Not authorized"
    )
    assert CANARY not in repr(outcome)


def test_scheduler_retries_a_publish_whose_puback_was_lost(
    private_broker: PrivateBroker, proxy: HoldingProxy, topic: str, subscribe: Any, tmp_path: Path
) -> None:
    """End to end: attempt 1 fails visibly (broker killed before PUBACK), attempt 2 succeeds."""
    from gnomon import ActionSpec, Scheduler

    config = {"topic": topic, "payload": "on", "broker": f"mqtt://127.0.0.1:{proxy.port}"}
    with Scheduler(str(tmp_path / "gnomon.db"), workers=2) as scheduler:
        job = scheduler.add(
            timedelta(hours=1),
            ActionSpec(kind="mqtt", config=config),
            max_attempts=2,
            backoff=0,
            timeout=10,
        )
        scheduler.trigger(job.id)
        scheduler.tick()
        assert proxy.publish_seen.wait(5)
        private_broker.kill()
        assert scheduler.wait_idle(10)

        private_broker.start()
        proxy.hold = False
        sub = subscribe(private_broker.port, topic)
        scheduler.tick()  # the retry is due at once (backoff 0)
        assert scheduler.wait_idle(10)
        runs = sorted(scheduler.runs(job.id), key=lambda r: r.attempt)

    assert [(r.attempt, r.status) for r in runs] == [
        (1, RunStatus.FAILED),
        (2, RunStatus.SUCCEEDED),
    ]
    assert "lost while waiting for PUBACK" in (runs[0].error or "")
    assert sub.get().payload == b"on"


# -- stale commands and device-reported failures ------------------------------------------------


def test_stale_command_is_not_sent(topic: str, subscribe: Any) -> None:
    sub = subscribe(1883, topic)
    late = make_ctx(started_at=datetime(2026, 11, 23, 12, 5, tzinfo=UTC))  # 5 min after the fire
    outcome = run({"topic": topic, "payload": "open", "valid_for": 60}, late)
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "stale command not sent: it was valid until 2026-11-23T12:01:00Z"
    assert sub.messages.empty()


def test_valid_for_caps_the_expiry_and_is_sent_as_a_user_property(
    topic: str, subscribe: Any
) -> None:
    sub = subscribe(1883, topic)
    ctx = make_ctx(started_at=datetime(2026, 11, 23, 12, 0, 40, tzinfo=UTC))  # 20 s left
    outcome = run({"topic": topic, "valid_for": 60, "message_expiry": 3600}, ctx)
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    msg = sub.get()
    assert 19 <= msg.properties.MessageExpiryInterval <= 20
    assert dict(msg.properties.UserProperty)["gnomon-valid-until"] == "2026-11-23T12:01:00Z"


def test_device_reporting_ok_false_fails_the_run(topic: str, subscribe: Any) -> None:
    sub = subscribe(1883, topic)

    def refuse(client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.CorrelationData = msg.properties.CorrelationData
        reply = json.dumps({"ok": False, "error": "door jammed"})
        client.publish(msg.properties.ResponseTopic, reply, 1, properties=props)

    sub.client.on_message = refuse
    outcome = run({"topic": topic, "await_ack": True, "ack_timeout": 5})
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "device reported failure: door jammed"
    assert outcome.result == {"ok": False, "error": "door jammed"}
