"""``notify`` action: send a notification through apprise (Slack, Telegram, e-mail, ntfy,
JSON webhooks… about 180 services named by URL).

Config::

    {"urls": ["tgram://bot-token/chat-id", "json://hooks.example/in"],
     "title": "Backup", "body": "nightly backup failed", "type": "failure",
     "timeout": 30}

apprise is an optional extra (``pip install gnomon[notify]``), imported only when a notify
action is validated or run. Targets are notified one after another, each within what is
left of the timeout; the run succeeds only if every target accepted the notification.

Apprise URLs embed tokens, so the outcome records *where* a notification went as the
scheme and, for self-hosted services, the host (``json://hooks.example:8080``), never a
path, query or token; error text is scrubbed of every part of the configured URLs.

SSRF: for self-hosted services (those with a host of their own, such as ``json://``,
``ntfy://``, ``gotify://``) the host is resolved and checked against the same policy as
the ``http`` action (``GNOMON_HTTP_ALLOW``) before sending. This is a best-effort check at
resolution time: apprise opens its own connections, so unlike ``http`` it is not re-checked
at connect time.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

import httpcore

from gnomon.actions.base import RunContext
from gnomon.actions.netguard import BlockedAddress, NetworkPolicy
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import MASK, redact_text
from gnomon.settings import Settings

TYPES = ("info", "success", "warning", "failure")
DEFAULT_TIMEOUT = 30.0
_FIELDS = frozenset({"urls", "title", "body", "type", "timeout"})
_import_lock = threading.Lock()
_apprise: ModuleType | None = None  # loaded once, on first use


def _bad(message: str) -> InvalidAction:
    return InvalidAction(f"notify action: {message}")


def load_apprise() -> ModuleType:
    """The apprise module with its plugins loaded, or :class:`InvalidAction` if missing.

    apprise loads its ~180 plugins on first use; one of them imports the deprecated
    ``imghdr`` module, whose warning is silenced here, narrowly and once.
    """
    global _apprise
    with _import_lock:
        if _apprise is None:
            try:
                import apprise
            except ImportError:
                raise _bad(
                    "apprise is not installed; install it with: pip install 'gnomon[notify]'"
                ) from None
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="'imghdr' is deprecated", category=DeprecationWarning
                )
                apprise.Apprise.instantiate("json://localhost")
            _apprise = apprise
        return _apprise


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _is_self_hosted(plugin: Any) -> bool:
    """A service with a host of its own (``json://host``), as opposed to one whose URL
    "host" is really a token or an account id (``tgram://bot-token/…``)."""
    return bool(getattr(plugin, "protocol", None)) and bool(getattr(plugin, "host", None))


def _target(url: str, plugin: Any) -> str:
    """Where a notification goes, without tokens: the scheme, plus host for self-hosted."""
    scheme = _scheme(url)
    if not _is_self_hosted(plugin):
        return scheme
    port = getattr(plugin, "port", None)
    return f"{scheme}://{plugin.host}" + (f":{port}" if port else "")


def _secret_parts(url: str, plugin: Any) -> set[str]:
    """Every piece of an apprise URL that may be a token (all but scheme and real host)."""
    split = urlsplit(url)
    parts = {split.username or "", split.password or ""}
    parts.update(unquote(p) for p in split.path.split("/"))
    for pair in split.query.split("&"):
        parts.update(unquote(v) for v in pair.split("=", 1)[1:])
    if not _is_self_hosted(plugin):
        parts.add(split.hostname or "")
        parts.add(split.netloc)
    return {p for p in parts if len(p) >= 4}


class NotifyAction:
    kind: ClassVar[str] = "notify"
    secret_fields: ClassVar[frozenset[str]] = frozenset({"urls"})

    def __init__(self, settings: Settings | None = None) -> None:
        """``settings`` fixes the allow-list (tests); by default it is read from the
        environment on each run."""
        self._settings = settings

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: apprise sends the message; no command or code of the job's choosing runs."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:  # noqa: C901 - known debt: to split
        """The normalised config, or :class:`InvalidAction` naming the first bad field.

        Error messages name a bad URL by its position and scheme only, since the rest of
        it may be a token.
        """
        unknown = set(config) - _FIELDS
        if unknown:
            raise _bad(f"unknown field(s) {', '.join(sorted(unknown))}")
        urls = config.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not urls:
            raise _bad("urls is required: a list of apprise URLs (e.g. ['tgram://…'])")
        apprise = load_apprise()
        for i, url in enumerate(urls):
            if not isinstance(url, str) or "://" not in url:
                raise _bad(f"urls[{i}] must be an apprise URL such as 'json://host/path'")
            if apprise.Apprise.instantiate(url) is None:
                raise _bad(f"urls[{i}]: apprise cannot use this {_scheme(url)!r} URL")
        title = config.get("title", "")
        body = config.get("body")
        if not isinstance(title, str):
            raise _bad("title must be a string")
        if not isinstance(body, str) or not body:
            raise _bad("body is required: a non-empty string")
        kind = config.get("type", "info")
        if kind not in TYPES:
            raise _bad(f"type {kind!r} must be one of {', '.join(TYPES)}")
        timeout = config.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
            raise _bad(f"timeout {timeout!r} must be a positive number of seconds")
        return {
            "urls": list(urls),
            "title": title,
            "body": body,
            "type": kind,
            "timeout": float(timeout),
        }

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        apprise = load_apprise()
        settings = self._settings or Settings.from_env()
        policy = NetworkPolicy.from_allow_list(settings.http_allow)
        limits = [t for t in (config.get("timeout"), ctx.timeout) if t is not None]
        timeout = float(min(limits))
        deadline = time.monotonic() + timeout
        records: list[dict[str, Any]] = []
        problems: list[str] = []
        timed_out = False
        for url in config["urls"]:
            plugin = apprise.Apprise.instantiate(url)
            record: dict[str, Any] = {"target": _target(url, plugin)}
            record["service"] = str(getattr(plugin, "service_name", "") or record["target"])
            records.append(record)
            secrets = _secret_parts(url, plugin)
            remaining = deadline - time.monotonic()
            if ctx.cancelled.is_set():
                return Outcome(
                    status=RunStatus.CANCELLED, error="cancelled", result={"targets": records}
                )
            if remaining <= 0:
                record["status"] = "not sent"
                timed_out = True
                continue
            status, message = self._send(apprise, url, plugin, config, policy, remaining)
            record["status"] = status
            timed_out = timed_out or status == "timed out"
            if status != "sent":
                problems.append(f"{record['target']}: {_scrub(message, secrets)}")
        result = {"targets": records}
        if timed_out:
            error = f"timed out after {timeout:g} s; " + "; ".join(problems)
            return Outcome(status=RunStatus.TIMED_OUT, error=error.rstrip("; "), result=result)
        if problems:
            error = f"{len(problems)} of {len(records)} targets failed: " + "; ".join(problems)
            return Outcome.failure(error, result=result)
        return Outcome.success(result)

    def _send(
        self,
        apprise: ModuleType,
        url: str,
        plugin: Any,
        config: Mapping[str, Any],
        policy: NetworkPolicy,
        timeout: float,
    ) -> tuple[str, str]:
        """Notify one target; return its status (sent, failed, refused, timed out) and a
        message. ``bool(result)`` is the check: in apprise 2 the result is an object that
        never equals False."""
        if plugin is None:
            return "failed", "apprise cannot use this URL"
        if _is_self_hosted(plugin):
            try:
                policy.resolve(str(plugin.host), int(getattr(plugin, "port", None) or 0))
            except BlockedAddress as exc:
                return "refused", str(exc)
            except httpcore.ConnectError:
                pass  # the name does not resolve: apprise will report that failure itself
        sender = apprise.Apprise()
        sender.add(plugin)
        result = sender.notify(
            body=config["body"],
            title=config["title"],
            notify_type=config["type"],
            timeout=timeout,
        )
        if bool(result):
            return "sent", ""
        if result.status == apprise.AppriseResultStatus.TIMEOUT:
            return "timed out", f"no answer within {timeout:.3g} s"
        messages = [e.message for r in result for e in r.logs() if e.level in ("WARNING", "ERROR")]
        return "failed", " ".join(messages) or "apprise reported a failure"


def _scrub(text: str, secrets: set[str]) -> str:
    for value in sorted(secrets, key=len, reverse=True):
        text = text.replace(value, MASK)
    return redact_text(text)
