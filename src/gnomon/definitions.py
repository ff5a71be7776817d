"""Turning what people give (a spec string, a datetime, a callable, argv…) into a valid Job.

Every face of gnomon — Python API, CLI, REST API, MCP — builds jobs here, so one set of
checks applies everywhere and nothing invalid reaches the store.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from gnomon import limits
from gnomon.actions.registry import validate_action
from gnomon.errors import GnomonError, InvalidAction, InvalidPolicy, InvalidSpec, InvalidTrigger
from gnomon.instants import require_aware
from gnomon.models import ActionSpec, Job, JobState, Policy
from gnomon.references import reference_of
from gnomon.triggers import AtTrigger, IntervalTrigger, Trigger, parse
from gnomon.triggers.lexicon import check_amount
from gnomon.triggers.zones import zone

When = str | datetime | timedelta | Trigger
ActionLike = ActionSpec | Callable[..., Any]
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,199}$")
"""Job ids: they are a path segment of the REST API (``/api/v1/jobs/{id}``), so no ``/``."""


def python(ref: str | Callable[..., Any], *args: Any, **kwargs: Any) -> ActionSpec:
    """A ``python`` action calling ``ref`` (a function or ``"package.module:function"``)."""
    target = ref if isinstance(ref, str) else reference_of(ref)
    return ActionSpec(kind="python", config={"ref": target, "args": list(args), "kwargs": kwargs})


def shell(
    argv: Sequence[str],
    *,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> ActionSpec:
    """A ``shell`` action running ``argv`` (a list, never a shell string)."""
    config: dict[str, Any] = {"argv": argv if isinstance(argv, str) else list(argv)}
    if cwd is not None:
        config["cwd"] = cwd
    if env:
        config["env"] = dict(env)
    if timeout is not None:
        config["timeout"] = timeout
    return ActionSpec(kind="shell", config=config)


def new_job_id() -> str:
    return secrets.token_hex(8)


def check_job_id(job_id: object) -> str:
    if not isinstance(job_id, str) or not _ID.match(job_id):
        raise InvalidSpec(
            f"job id {job_id!r} is not valid: use 1-200 letters, digits and _ . : @ - "
            "(starting with a letter or digit; no / or spaces)"
        )
    return job_id


Location = tuple[float, float]


def check_name(name: object) -> str:
    """A job name: text of at most ``limits.MAX_NAME_CHARS`` characters, one line."""
    if not isinstance(name, str):
        raise InvalidSpec(f"job name {name!r} must be text")
    if len(name) > limits.MAX_NAME_CHARS:
        raise InvalidSpec(
            f"job name of {len(name)} characters is too long (at most {limits.MAX_NAME_CHARS})"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidSpec(f"job name {name!r} contains a control character")
    return name


def to_trigger(when: When, *, tz: str, now: datetime, location: Location | None = None) -> Trigger:
    """A trigger from a spec string, an aware datetime (once), a timedelta (every).

    ``location`` (latitude, longitude) is where solar events (``sunrise``) are computed.
    """
    if isinstance(when, str):
        return parse(when, tz=tz, now=now, location=location)
    _in_range(now, "now")
    zone(tz)  # parse checks it; a datetime or timedelta would store an unusable zone
    if isinstance(when, datetime):
        at = require_aware(when, "one-shot time")
        return AtTrigger(at, tz)
    if isinstance(when, timedelta):
        if when <= timedelta(0):
            raise InvalidTrigger(
                f"interval: {when.total_seconds():g} seconds must be more than zero"
            )
        check_amount(when.total_seconds(), f"every {when}")
        return IntervalTrigger(when, now + when)
    if isinstance(when, Trigger):
        return when
    raise InvalidTrigger(f"cannot make a schedule from {type(when).__name__} {when!r}")


def _in_range(value: datetime, what: str) -> datetime:
    try:
        return limits.check_instant(value, what)
    except ValueError as exc:
        raise InvalidTrigger(str(exc)) from None


def to_action(action: ActionLike) -> ActionSpec:
    """Validate an action now (bad config fails at creation, not at fire time).

    Its config is at most ``MAX_CONFIG_BYTES`` as JSON, its arguments at most
    ``MAX_ARGS_BYTES`` (see :mod:`gnomon.limits`).
    """
    spec = action if isinstance(action, ActionSpec) else python(action)
    try:
        checked = validate_action(spec.kind, dict(spec.config))
    except GnomonError:
        raise
    except Exception as exc:  # e.g. a referenced module that fails to import
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise InvalidAction(
            f"{spec.kind} action: its config could not be checked: {detail}"
        ) from exc
    _check_sizes(checked)
    return checked


def _check_sizes(action: ActionSpec) -> None:
    config = dict(action.config)
    args = {k: config[k] for k in limits.ARG_KEYS if k in config}
    try:
        sizes = (limits.json_size(config), limits.json_size(args))
    except (TypeError, ValueError, RecursionError):
        raise InvalidAction(f"{action.kind} action: its config is not JSON") from None
    if sizes[0] > limits.MAX_CONFIG_BYTES:
        raise InvalidAction(
            f"{action.kind} action: its config is {sizes[0]} bytes as JSON; "
            f"at most {limits.MAX_CONFIG_BYTES}"
        )
    if sizes[1] > limits.MAX_ARGS_BYTES:
        raise InvalidAction(
            f"{action.kind} action: its arguments ({', '.join(args)}) are {sizes[1]} bytes as "
            f"JSON; at most {limits.MAX_ARGS_BYTES}"
        )


DEFAULT_POLICY = Policy()


def to_policy(policy: Policy | Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> Policy:
    """A policy from a Policy or a mapping, with ``overrides``; notify targets checked now."""
    if policy is None and not overrides:
        return DEFAULT_POLICY  # frozen, so one instance serves every job (bulk creation)
    base = policy if isinstance(policy, Policy) else Policy.from_json(policy or {})
    unknown = set(overrides) - set(Policy.__dataclass_fields__)
    if unknown:
        raise InvalidSpec(f"unknown job option(s): {', '.join(sorted(unknown))}")
    result = replace(base, **overrides) if overrides else base
    check_policy_bounds(result)
    if result.notify_urls:
        validate_action("notify", {"urls": list(result.notify_urls), "body": "-"})
    return result


POLICY_SECONDS = ("backoff", "max_backoff", "timeout", "jitter", "grace")
POLICY_COUNTS = {"max_attempts": limits.MAX_ATTEMPTS, "catchup_cap": limits.MAX_CATCHUP_CAP}


def check_policy_bounds(policy: Policy) -> Policy:
    """``policy`` if its values are within :mod:`gnomon.limits`; else ``InvalidPolicy``.

    Checked where jobs are defined, not in ``Policy`` itself, so a job stored before a bound
    existed can still be read.
    """
    for name, most in POLICY_COUNTS.items():
        value = getattr(policy, name)
        if value > most:
            raise InvalidPolicy(f"policy {name}: {value!r} must be at most {most}")
    for name in POLICY_SECONDS:
        value = getattr(policy, name)
        if value is not None and not value <= limits.MAX_POLICY_SECONDS:
            raise InvalidPolicy(
                f"policy {name}: {value!r} must be at most {limits.MAX_POLICY_SECONDS} "
                f"seconds ({limits.MAX_POLICY_SECONDS // 86400} days)"
            )
    return policy


def first_fire(trigger: Trigger, now: datetime) -> datetime:
    """The first fire after ``now``; a schedule with none left is refused.

    So is one whose first fire is not before :data:`~gnomon.limits.LATEST`, or whose fire
    after the first cannot be computed: the scheduler computes it when the first fires, and
    a job must not be stored only to be paused then as "cannot be planned".
    """
    fire = _next_fire(trigger, now)
    if fire is None:
        if isinstance(trigger, AtTrigger):
            raise InvalidTrigger(
                f"one-shot time {trigger.at.isoformat()} is not in the future "
                f"(now is {now.isoformat()})"
            )
        raise InvalidTrigger(f"schedule {trigger.describe()!r} never fires after {now.isoformat()}")
    _in_range(fire, f"schedule {trigger.describe()!r}: its first fire")
    _next_fire(trigger, fire)
    return fire


def _next_fire(trigger: Trigger, after: datetime) -> datetime | None:
    try:
        return trigger.next_after(after)
    except GnomonError:
        raise
    except Exception as exc:  # a date past year 9999, or a trigger's own bug
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise InvalidTrigger(
            f"schedule {trigger.describe()!r}: its fires after {after.isoformat()} cannot be "
            f"computed ({detail})"
        ) from None


def define_job(  # noqa: PLR0913 - keyword-only job fields
    when: When,
    action: ActionLike,
    *,
    now: datetime,
    id: str | None = None,
    name: str | None = None,
    tz: str = "UTC",
    policy: Policy | Mapping[str, Any] | None = None,
    paused: bool = False,
    location: Location | None = None,
    **options: Any,
) -> Job:
    """A new, fully validated job (not yet stored)."""
    job_id = check_job_id(id) if id is not None else new_job_id()
    trigger = to_trigger(when, tz=tz, now=now, location=location)
    spec = to_action(action)
    pol = to_policy(policy, options)
    next_fire = first_fire(trigger, now)
    return Job(
        id=job_id,
        name=check_name(name) if name else _default_name(spec, job_id),
        trigger=trigger,
        action=spec,
        policy=pol,
        state=JobState.PAUSED if paused else JobState.ACTIVE,
        next_fire_at=None if paused else next_fire,
        created_at=now,
        updated_at=now,
    )


def _default_name(action: ActionSpec, job_id: str) -> str:
    if action.kind == "python":
        text = str(action.config["ref"])
    elif action.kind == "shell":
        text = " ".join(action.config["argv"])
    else:
        text = f"{action.kind} {job_id}"
    return "".join(c if c.isprintable() else " " for c in text)[:200]  # see check_name
