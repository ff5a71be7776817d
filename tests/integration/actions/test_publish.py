"""The ``amqp`` and ``redis`` actions against the real local RabbitMQ and Redis."""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from gnomon.actions.base import RunContext
from gnomon.actions.publish import AmqpAction, RedisAction
from gnomon.destinations import Destination
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from tests.integration.actions.test_http import CANARY, ctx, shown
from tests.servers import require

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672//"
REDIS_URL = "redis://127.0.0.1:6379/0"


def amqp(config: dict[str, Any], **kw: Any) -> Outcome:
    action = AmqpAction()
    return action.execute(action.validate({"url": AMQP_URL, **config}), ctx(**kw))


def redis_run(config: dict[str, Any], **kw: Any) -> Outcome:
    action = RedisAction()
    return action.execute(action.validate({"url": REDIS_URL, **config}), ctx(**kw))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a stalled broker)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


# --- amqp ---------------------------------------------------------------------------------


@pytest.fixture
def rabbit() -> Iterator[Any]:
    """A kombu connection to the real RabbitMQ, for declaring and reading test queues."""
    require("rabbitmq")
    from kombu import Connection

    with Connection(AMQP_URL, connect_timeout=5) as conn:
        yield conn


@pytest.fixture
def queue_name(rabbit: Any) -> Iterator[str]:
    name = f"gnomon-test-{uuid.uuid4().hex[:8]}"
    yield name
    from kombu import Queue

    Queue(name)(rabbit.channel()).delete()


def take(rabbit: Any, queue: str) -> Any:
    from kombu import Queue

    return Queue(queue)(rabbit.channel()).get(no_ack=True)


def test_amqp_json_to_a_declared_queue_is_confirmed(rabbit: Any, queue_name: str) -> None:
    outcome = amqp(
        {"queue": queue_name, "declare_queue": True, "json": {"n": 1}, "headers": {"k": "v"}}
    )
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {
        "exchange": "",
        "routing_key": queue_name,
        "message_id": "job-1@2026-01-01T03:00:00Z",
        "confirmed": True,
    }
    message = take(rabbit, queue_name)
    assert json.loads(message.body) == {"n": 1}
    assert message.content_type == "application/json"
    assert message.properties["delivery_mode"] == 2
    assert message.properties["message_id"] == "job-1@2026-01-01T03:00:00Z"
    assert message.headers["k"] == "v"
    assert message.headers["gnomon-run-id"] == "7"


def test_amqp_text_via_exchange_and_routing_key(rabbit: Any, queue_name: str) -> None:
    from kombu import Exchange, Queue

    exchange = Exchange(f"{queue_name}-x", type="direct", auto_delete=True)
    Queue(queue_name, exchange=exchange, routing_key="done")(rabbit.channel()).declare()
    config = {"exchange": exchange.name, "routing_key": "done", "body": "backup ok"}
    outcome = amqp({**config, "persistent": False})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    message = take(rabbit, queue_name)
    assert message.body == "backup ok"
    assert message.content_type == "text/plain"
    assert message.properties["delivery_mode"] == 1


def test_amqp_unroutable_message_is_a_failure(rabbit: Any) -> None:
    outcome = amqp({"exchange": "amq.direct", "routing_key": f"nobody-{uuid.uuid4()}", "body": "x"})
    assert outcome.status is RunStatus.FAILED
    assert "could not route the message to exchange 'amq.direct'" in (outcome.error or "")
    assert "NO_ROUTE" in (outcome.error or "")


def test_amqp_missing_queue_without_declare_is_a_failure(rabbit: Any) -> None:
    outcome = amqp({"queue": f"gnomon-absent-{uuid.uuid4()}", "body": "x"})
    assert outcome.status is RunStatus.FAILED
    assert "(default exchange)" in (outcome.error or "")


def test_amqp_missing_exchange_is_a_failure(rabbit: Any) -> None:
    outcome = amqp({"exchange": f"gnomon-absent-{uuid.uuid4()}", "body": "x"})
    assert outcome.status is RunStatus.FAILED
    assert "NOT_FOUND" in (outcome.error or "")


def test_amqp_canary_password_never_appears(rabbit: Any) -> None:
    action = AmqpAction()
    config = action.validate(
        {"url": f"amqp://guest:{CANARY}@127.0.0.1:5672//", "queue": "q", "body": "x"}
    )
    outcome = action.execute(config, ctx())
    assert outcome.status is RunStatus.FAILED
    assert "ACCESS_REFUSED" in (outcome.error or "")
    assert CANARY not in shown(outcome)


def test_amqp_unreachable_broker_is_a_failure() -> None:
    action = AmqpAction()
    url = f"amqp://guest:{CANARY}@127.0.0.1:1//"
    outcome = action.execute(
        action.validate({"url": url, "queue": "q", "body": "x"}), ctx(timeout=1)
    )
    assert outcome.status is RunStatus.FAILED
    assert (outcome.error or "").startswith("cannot connect to the broker: ConnectionRefusedError")
    assert CANARY not in shown(outcome)


def test_amqp_stalled_broker_times_out(silent_port: int) -> None:
    action = AmqpAction()
    url = f"amqp://guest:guest@127.0.0.1:{silent_port}//"
    outcome = action.execute(
        action.validate({"url": url, "queue": "q", "body": "x"}), ctx(timeout=0.3)
    )
    assert outcome.status is RunStatus.TIMED_OUT
    assert outcome.error == "timed out after 0.3 s"


def test_amqp_cancelled_before_connecting() -> None:
    action = AmqpAction()
    context = ctx()
    context.cancelled.set()
    outcome = action.execute(action.validate({"url": AMQP_URL, "queue": "q", "body": "x"}), context)
    assert outcome.status is RunStatus.CANCELLED


# --- redis --------------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[Any]:
    require("redis")
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    yield client
    client.close()


@pytest.fixture
def key(redis_client: Any) -> Iterator[str]:
    name = f"gnomon-test-{uuid.uuid4().hex[:8]}"
    yield name
    redis_client.delete(name)


def test_redis_rpush_and_lpush(redis_client: Any, key: str) -> None:
    first = redis_run({"list": key, "json": {"n": 1}})
    second = redis_run({"list": key, "push": "lpush", "body": "zero"})
    third = redis_run({"list": key, "body": "two"})
    assert first.status is RunStatus.SUCCEEDED, first.error
    assert (first.result, second.result, third.result) == (
        {"list": key, "length": 1},
        {"list": key, "length": 2},
        {"list": key, "length": 3},
    )
    assert redis_client.lrange(key, 0, -1) == [b"zero", b'{"n": 1}', b"two"]


def test_redis_publish_counts_receivers(redis_client: Any, key: str) -> None:
    pubsub = redis_client.pubsub()
    pubsub.subscribe(key)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    outcome = redis_run({"channel": key, "json": ["hi"], "min_receivers": 1})
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert outcome.result == {"channel": key, "receivers": 1}
    message = pubsub.get_message(timeout=5)
    assert message["data"] == b'["hi"]'
    pubsub.close()


def test_redis_publish_without_enough_receivers_fails(redis_client: Any, key: str) -> None:
    outcome = redis_run({"channel": key, "body": "x", "min_receivers": 1})
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == "0 subscriber(s) got the message; at least 1 wanted"
    assert redis_run({"channel": key, "body": "x"}).status is RunStatus.SUCCEEDED


def test_redis_canary_password_never_appears(redis_client: Any, key: str) -> None:
    action = RedisAction()
    for url in (f"redis://:{CANARY}@127.0.0.1:6379/0", f"redis://:{CANARY}@127.0.0.1:1/0"):
        outcome = action.execute(action.validate({"url": url, "list": key, "body": "x"}), ctx())
        assert CANARY not in shown(outcome)
        assert CANARY not in repr(outcome)


def test_redis_unreachable_is_a_failure() -> None:
    outcome = RedisAction().execute(
        {"url": "redis://127.0.0.1:1/0", "list": "k", "push": "rpush", "body": "x", "timeout": 2},
        ctx(),
    )
    assert outcome.status is RunStatus.FAILED
    assert "Connection refused" in (outcome.error or "")


def test_redis_stalled_server_times_out(silent_port: int) -> None:
    action = RedisAction()
    url = f"redis://127.0.0.1:{silent_port}/0"
    outcome = action.execute(
        action.validate({"url": url, "list": "k", "body": "x"}), ctx(timeout=0.3)
    )
    assert outcome.status is RunStatus.TIMED_OUT


def test_redis_cancelled_before_connecting() -> None:
    action = RedisAction()
    context = ctx()
    context.cancelled.set()
    outcome = action.execute(action.validate({"url": REDIS_URL, "list": "k", "body": "x"}), context)
    assert outcome.status is RunStatus.CANCELLED


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"queue": "q", "body": "x"}, "url is required"),
        ({"url": "http://h/", "queue": "q", "body": "x"}, "url scheme 'http' is not allowed"),
        ({"url": AMQP_URL, "body": "x"}, "give either queue"),
        ({"url": AMQP_URL, "queue": "q", "exchange": "e", "body": "x"}, "give either queue"),
        ({"url": AMQP_URL, "queue": "", "body": "x"}, "queue must be a non-empty string"),
        ({"url": AMQP_URL, "queue": "q"}, "a message is required"),
        ({"url": AMQP_URL, "queue": "q", "json": {1}}, "json must be a JSON value"),
        ({"url": AMQP_URL, "queue": "q", "body": 5}, "body must be a string"),
        ({"url": AMQP_URL, "queue": "q", "body": "x", "json": 1}, "either json or body"),
        ({"url": AMQP_URL, "queue": "q", "routing_key": "k", "body": "x"}, "routing_key must"),
        ({"url": AMQP_URL, "exchange": "e", "declare_queue": True, "body": "x"}, "needs queue"),
        ({"url": AMQP_URL, "queue": "q", "persistent": "yes", "body": "x"}, "persistent must"),
        ({"url": AMQP_URL, "queue": "q", "headers": [1], "body": "x"}, "headers must be"),
        ({"url": AMQP_URL, "queue": "q", "body": "x", "timeout": 0}, "timeout 0 must be"),
        ({"url": AMQP_URL, "queue": "q", "body": "x", "vhost": "/"}, "unknown field(s) vhost"),
    ],
)
def test_amqp_bad_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction) as info:
        AmqpAction().validate(config)
    assert str(info.value).startswith("amqp action: ")
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"list": "k", "body": "x"}, "url is required"),
        ({"url": "amqp://h/", "list": "k", "body": "x"}, "url scheme 'amqp' is not allowed"),
        ({"url": REDIS_URL, "body": "x"}, "give either list"),
        ({"url": REDIS_URL, "list": "k", "channel": "c", "body": "x"}, "give either list"),
        ({"url": REDIS_URL, "list": "k", "push": "append", "body": "x"}, "push 'append' must"),
        ({"url": REDIS_URL, "channel": "c", "push": "lpush", "body": "x"}, "push is used with"),
        ({"url": REDIS_URL, "list": "k", "min_receivers": 1, "body": "x"}, "min_receivers is"),
        ({"url": REDIS_URL, "channel": "c", "min_receivers": -1, "body": "x"}, "whole number"),
        ({"url": REDIS_URL, "list": "k"}, "a message is required"),
        ({"url": REDIS_URL, "list": "k", "json": float("inf")}, "json must be a JSON value"),
        ({"url": REDIS_URL, "list": "k", "body": "x", "db": 2}, "unknown field(s) db"),
    ],
)
def test_redis_bad_config_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAction) as info:
        RedisAction().validate(config)
    assert str(info.value).startswith("redis action: ")
    assert message in str(info.value)


def test_config_is_normalised() -> None:
    assert AmqpAction().validate({"url": AMQP_URL, "queue": "q", "body": "x"}) == {
        "url": AMQP_URL,
        "body": "x",
        "timeout": 30.0,
        "headers": {},
        "persistent": True,
        "queue": "q",
        "declare_queue": False,
    }
    assert RedisAction().validate({"url": REDIS_URL, "channel": "c", "json": None}) == {
        "url": REDIS_URL,
        "json": None,
        "timeout": 30.0,
        "channel": "c",
        "min_receivers": 0,
    }


def test_registry_finds_both_actions() -> None:
    from gnomon.actions.registry import get_action

    assert isinstance(get_action("amqp"), AmqpAction)
    assert isinstance(get_action("redis"), RedisAction)


# --- named destinations -------------------------------------------------------------------


def _at(dest: Destination) -> RunContext:
    base = ctx()
    return RunContext(
        job_id=base.job_id,
        run_id=base.run_id,
        scheduled_for=base.scheduled_for,
        attempt=1,
        destinations=lambda name: dest,
    )


def test_amqp_to_a_named_destination_uses_its_url_and_queue(rabbit: Any, queue_name: str) -> None:
    from kombu import Queue

    Queue(queue_name, durable=True)(rabbit.channel()).declare()
    action = AmqpAction()
    config = action.validate({"destination": "jobs", "json": {"n": 2}})
    outcome = action.execute(config, _at(Destination(name="jobs", url=AMQP_URL, queue=queue_name)))
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    assert json.loads(take(rabbit, queue_name).body) == {"n": 2}


def test_redis_to_a_named_destination_pushes_to_its_queue() -> None:
    require("redis")
    import redis

    key = f"gnomon-test-{uuid.uuid4().hex[:8]}"
    action = RedisAction()
    config = action.validate({"destination": "cache", "body": "hello"})
    outcome = action.execute(config, _at(Destination(name="cache", url=REDIS_URL, queue=key)))
    assert outcome.status is RunStatus.SUCCEEDED, outcome.error
    client = redis.Redis.from_url(REDIS_URL)
    try:
        assert client.lpop(key) == b"hello"
    finally:
        client.delete(key)
        client.close()


def test_a_destination_of_the_wrong_kind_fails_the_run_clearly() -> None:
    action = RedisAction()
    config = action.validate({"destination": "rabbit", "body": "x", "list": "k"})
    outcome = action.execute(config, _at(Destination(name="rabbit", url=AMQP_URL)))
    assert outcome.status is RunStatus.FAILED
    assert outcome.error == (
        "destination 'rabbit': redis action: url scheme 'amqp' is not allowed; use redis or rediss"
    )
    assert "guest:guest" not in shown(outcome)


def test_url_and_destination_together_are_refused() -> None:
    with pytest.raises(InvalidAction, match="give url or destination, not both"):
        AmqpAction().validate({"url": AMQP_URL, "destination": "d", "queue": "q", "body": "x"})
