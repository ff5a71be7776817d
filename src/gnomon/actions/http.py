"""``http`` action: one HTTP request, judged by its status code.

Config (validated when the job is created)::

    {"url": "https://example.org/hook", "method": "POST",
     "headers": {"Authorization": "Bearer …"}, "json": {...} | "body": "text",
     "expect_status": ["2xx", 304], "timeout": 30, "follow_redirects": false}

Every connection goes through the SSRF guard of :mod:`gnomon.actions.netguard`: the
resolved address is checked at connect time, on every redirect hop. Which private or
loopback addresses may be reached is a *setting* (``GNOMON_HTTP_ALLOW``), never part of a
job's config. Proxies from the environment are ignored, since a proxy would connect on
the action's behalf where the guard cannot see.

The outcome's result holds the status code, the final URL, selected response headers and
the redirect chain; the response body (first :data:`~gnomon.actions.base.OUTPUT_CAP`
characters, never more read into memory) is the output. Secret header values, URL
passwords and secret-looking query values are masked in everything the outcome shows.
Each request carries the run's identity as ``X-Gnomon-Job-Id``, ``X-Gnomon-Run-Id``,
``X-Gnomon-Scheduled-For`` and ``X-Gnomon-Attempt``, so a receiver can de-duplicate.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import ssl
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpcore
import httpx

from gnomon.actions.base import OUTPUT_CAP, RunContext, cap_output
from gnomon.actions.netguard import BlockedAddress, GuardedBackend, NetworkPolicy
from gnomon.errors import InvalidAction
from gnomon.models import Outcome, RunStatus
from gnomon.redaction import MASK, is_secret_key, redact_text
from gnomon.settings import Settings

MAX_REDIRECTS = 10
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "etag",
    "last-modified",
    "retry-after",
    "x-request-id",
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
DEFAULT_TIMEOUT = 30.0
_FIELDS = frozenset(
    {"url", "method", "headers", "json", "body", "expect_status", "timeout", "follow_redirects"}
)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP header name (RFC 9110)
_STATUS_CLASS = re.compile(r"^[1-5]xx$")


def _bad(message: str) -> InvalidAction:
    return InvalidAction(f"http action: {message}")


def validate_http_config(config: Mapping[str, Any]) -> dict[str, Any]:  # noqa: C901 - known debt: to split
    """The normalised config, or :class:`InvalidAction` naming the first bad field."""
    if "allow_private" in config:
        raise _bad(
            "allow_private cannot be set in a job; an administrator allow-lists hosts "
            "with GNOMON_HTTP_ALLOW"
        )
    unknown = set(config) - _FIELDS
    if unknown:
        raise _bad(f"unknown field(s) {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {"url": _valid_url(config.get("url"))}
    method = config.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise _bad(f"method {method!r} must be one of {', '.join(METHODS)}")
    out["method"] = method.upper()
    out["headers"] = _valid_headers(config.get("headers", {}))
    if httpx.URL(out["url"]).userinfo and any(h.lower() == "authorization" for h in out["headers"]):
        raise _bad("give credentials either in the url or in an Authorization header, not both")
    if "json" in config and "body" in config:
        raise _bad("give either json or body, not both")
    if "json" in config:
        try:
            json.dumps(config["json"], allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise _bad(f"json must be a JSON value: {exc}") from None
        out["json"] = config["json"]
    if "body" in config:
        if not isinstance(config["body"], str):
            raise _bad("body must be a string (use json for structured data)")
        out["body"] = config["body"]
    out["expect_status"] = _valid_statuses(config.get("expect_status", ["2xx"]))
    out["timeout"] = _valid_timeout(config.get("timeout", DEFAULT_TIMEOUT))
    follow = config.get("follow_redirects", False)
    if not isinstance(follow, bool):
        raise _bad(f"follow_redirects {follow!r} must be true or false")
    out["follow_redirects"] = follow
    return out


def _valid_url(url: Any) -> str:
    if not isinstance(url, str) or not url.strip():
        raise _bad("url is required (e.g. 'https://example.org/hook')")
    try:
        parsed = httpx.URL(url.strip())
    except httpx.InvalidURL as exc:
        raise _bad(f"url {url!r} is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https"):
        raise _bad(f"url scheme {parsed.scheme!r} is not allowed; use http or https")
    if not parsed.host:
        raise _bad(f"url {url!r} has no host")
    return str(parsed)


def _valid_headers(headers: Any) -> dict[str, str]:
    if not isinstance(headers, dict):
        raise _bad("headers must be an object of string values")
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise _bad(f"header name {name!r} is not a valid HTTP header name")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise _bad(f"header {name}: value must be a string without line breaks")
    return dict(headers)


def _valid_statuses(statuses: Any) -> list[int | str]:
    if isinstance(statuses, int | str) and not isinstance(statuses, bool):
        statuses = [statuses]
    if not isinstance(statuses, list) or not statuses:
        raise _bad("expect_status must be a non-empty list of codes or classes like '2xx'")
    out: list[int | str] = []
    for status in statuses:
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            out.append(status)
        elif isinstance(status, str) and _STATUS_CLASS.match(status.lower()):
            out.append(status.lower())
        else:
            raise _bad(f"expect_status entry {status!r} must be a code 100-599 or like '2xx'")
    return out


def _valid_timeout(timeout: Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise _bad(f"timeout {timeout!r} must be a positive number of seconds")
    return float(timeout)


class _Cancelled(Exception):
    pass


class _Deadline(Exception):
    pass


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One verifying TLS context for all runs: loading the CA bundle takes ~60 ms."""
    return httpx.create_ssl_context(trust_env=False)


def guarded_transport(policy: NetworkPolicy) -> httpx.HTTPTransport:
    """An httpx transport whose every TCP connection is checked by ``policy``.

    httpx offers no public hook for its socket layer, so the transport's connection pool
    is replaced by one built on :class:`GuardedBackend`. If a future httpx stores its pool
    elsewhere this raises instead of silently sending unguarded requests.
    """
    ssl_context = _ssl_context()
    transport = httpx.HTTPTransport(verify=ssl_context, trust_env=False)
    if not isinstance(getattr(transport, "_pool", None), httpcore.ConnectionPool):
        raise RuntimeError("unsupported httpx version: cannot install the SSRF guard")
    transport._pool.close()
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=4,
        network_backend=GuardedBackend(policy),
    )
    return transport


class _Scrubber:
    """Masks the secrets of one config (and secret-looking URL parts) in shown text."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        values: set[str] = set()
        for name, value in config.get("headers", {}).items():
            if name.lower() in SECRET_HEADERS or is_secret_key(name):
                values.add(value)
                # "Bearer abc": a receiver may echo only the credential (not the scheme).
                values.update(part for part in value.split()[1:] if len(part) >= 6)
        url = httpx.URL(config["url"])
        if url.password:
            values.add(url.password)
            # httpx sends URL credentials as Basic auth, which a receiver may echo.
            basic = f"{url.username}:{url.password}".encode()
            values.add(base64.b64encode(basic).decode())
        values.update(v for k, v in url.params.multi_items() if is_secret_key(k) and v)
        self._values = sorted((v for v in values if len(v) >= 4), key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        return redact_text(text)

    def url(self, url: httpx.URL) -> str:
        if url.password:
            url = url.copy_with(username=url.username, password=MASK)
        params = [(k, MASK if is_secret_key(k) and v else v) for k, v in url.params.multi_items()]
        if params:
            url = url.copy_with(params=params)
        return self.text(str(url))


class HttpAction:
    kind: ClassVar[str] = "http"
    secret_fields: ClassVar[frozenset[str]] = frozenset(
        {"Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key"}
    )

    def __init__(self, settings: Settings | None = None) -> None:
        """``settings`` fixes the allow-list (tests); by default it is read from the
        environment on each run, so a changed ``GNOMON_HTTP_ALLOW`` applies at once."""
        self._settings = settings

    def runs_local_code(self, config: Mapping[str, Any]) -> bool:
        """Never: it sends an HTTP request; it starts no process and loads no code here."""
        return False

    def validate(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return validate_http_config(config)

    def execute(self, config: Mapping[str, Any], ctx: RunContext) -> Outcome:
        settings = self._settings or Settings.from_env()
        policy = NetworkPolicy.from_allow_list(settings.http_allow)
        limits = [t for t in (config.get("timeout"), ctx.timeout) if t is not None]
        timeout = float(min(limits))
        scrub = _Scrubber(config)
        started = time.monotonic()
        deadline = started + timeout
        hops: list[str] = []
        try:
            with httpx.Client(transport=guarded_transport(policy), trust_env=False) as client:
                response, body, more = self._exchange(client, config, ctx, deadline, hops, scrub)
        except BlockedAddress as exc:
            return Outcome.failure(_where(hops) + scrub.text(str(exc)), result=_chain(hops))
        except (httpx.TimeoutException, _Deadline):
            return Outcome(
                status=RunStatus.TIMED_OUT,
                error=_where(hops) + f"timed out after {timeout:g} s",
                result=_chain(hops),
            )
        except _Cancelled:
            return Outcome(status=RunStatus.CANCELLED, error="cancelled", result=_chain(hops))
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Outcome.failure(_where(hops) + scrub.text(error), result=_chain(hops))
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        result = _result(response, hops, scrub, elapsed_ms)
        output = scrub.text(_decode(response, body, more))
        if not status_expected(response.status_code, config["expect_status"]):
            expected = ", ".join(str(s) for s in config["expect_status"])
            error = f"unexpected status {response.status_code} (expected {expected})"
            return Outcome.failure(error, result=result, output=output)
        return Outcome.success(result, output)

    def _exchange(
        self,
        client: httpx.Client,
        config: Mapping[str, Any],
        ctx: RunContext,
        deadline: float,
        hops: list[str],
        scrub: _Scrubber,
    ) -> tuple[httpx.Response, bytes, bool]:
        """Send the request, follow redirects if configured, read the capped body.

        Redirects are followed here rather than by httpx so that every secret header
        (not only Authorization) is dropped when a redirect leaves the original origin.
        """
        request = _build_request(client, config, ctx)
        origin = _origin(request.url)
        for _ in range(MAX_REDIRECTS + 1):
            _check_time(ctx, deadline)
            request.extensions["timeout"] = httpx.Timeout(deadline - time.monotonic()).as_dict()
            response = client.send(request, stream=True)
            try:
                redirect = response.next_request if config["follow_redirects"] else None
                if redirect is None:
                    body, more = _read_capped(response, ctx, deadline)
                    return response, body, more
            finally:
                response.close()
            if redirect.url.scheme not in ("http", "https"):
                raise httpx.UnsupportedProtocol(
                    f"redirect to unsupported scheme {redirect.url.scheme!r}"
                )
            if _origin(redirect.url) != origin:
                for name in list(redirect.headers):
                    if name.lower() in SECRET_HEADERS or is_secret_key(name):
                        del redirect.headers[name]
            hops.append(scrub.url(redirect.url))
            request = redirect
        raise httpx.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")


def status_expected(code: int, expected: list[int | str]) -> bool:
    """Whether ``code`` matches one of ``expected`` (codes, or classes such as ``"2xx"``)."""
    return any(code == e if isinstance(e, int) else str(code)[0] == e[0] for e in expected)


def _build_request(
    client: httpx.Client, config: Mapping[str, Any], ctx: RunContext
) -> httpx.Request:
    headers = {"User-Agent": "gnomon"}
    for name, value in ctx.environment().items():
        headers["X-" + name.title().replace("_", "-")] = value
    headers.update(config.get("headers", {}))
    kwargs: dict[str, Any] = {}
    if "json" in config:
        kwargs["json"] = config["json"]
    elif "body" in config:
        kwargs["content"] = config["body"].encode()
        if not any(h.lower() == "content-type" for h in headers):
            headers["Content-Type"] = "text/plain; charset=utf-8"
    return client.build_request(config["method"], config["url"], headers=headers, **kwargs)


def _check_time(ctx: RunContext, deadline: float) -> None:
    if ctx.cancelled.is_set():
        raise _Cancelled
    if time.monotonic() >= deadline:
        raise _Deadline


def _read_capped(response: httpx.Response, ctx: RunContext, deadline: float) -> tuple[bytes, bool]:
    """At most ``4 * OUTPUT_CAP`` bytes of the body (enough for OUTPUT_CAP characters of
    UTF-8), and whether more was left unread. Checks the deadline between chunks, since
    httpx's read timeout bounds one read, not the whole body."""
    limit = 4 * OUTPUT_CAP
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        _check_time(ctx, deadline)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False


def _decode(response: httpx.Response, body: bytes, more: bool) -> str:
    try:
        text = body.decode(response.encoding or "utf-8", errors="replace")
    except LookupError:  # an unknown charset named by the server
        text = body.decode("utf-8", errors="replace")
    text = cap_output(text)
    return text + "\n… [rest of the response not read]" if more else text


def _result(
    response: httpx.Response, hops: list[str], scrub: _Scrubber, elapsed_ms: float
) -> dict[str, Any]:
    headers = {
        name: scrub.text(response.headers[name])
        for name in KEPT_HEADERS
        if name in response.headers
    }
    return {
        "status_code": response.status_code,
        "url": scrub.url(response.url),
        "headers": headers,
        "redirects": list(hops),
        "elapsed_ms": elapsed_ms,
    }


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _chain(hops: list[str]) -> dict[str, Any] | None:
    return {"redirects": list(hops)} if hops else None


def _where(hops: list[str]) -> str:
    return f"redirect {len(hops)} to {hops[-1]}: " if hops else ""
