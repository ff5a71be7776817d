"""Secrets never shown: values under secret-looking keys, and registered secret values.

``redact(value)`` returns a copy of a JSON value in which every value stored under a key
that looks secret (``password``, ``token``, ``secret``, ``api_key``, ``authorization``,
``cookie``, ``private_key``, ``credentials``…) is replaced by ``"***"``, and every registered
secret string is masked wherever it appears inside other strings (URLs, argv, output).
"""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(
    r"(pass(word|wd|phrase)?|secret|token|api[_-]?key|apikey|auth(orization)?|cookie|"
    r"private[_-]?key|credentials?|session[_-]?id|signature)",
    re.IGNORECASE,
)
# The scheme is anchored (not preceded by a scheme character) and bounded, so a long run of
# letters in an output is scanned once, not once per starting position.
_SCHEME = r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]{0,31}://"
_URL_USERINFO = re.compile(rf"(?P<scheme>{_SCHEME})(?P<user>[^:/@\s]{{0,256}}):[^@/\s]{{1,256}}@")
_URL_PASSWORD = re.compile(rf"{_SCHEME}[^:/@\s]{{0,256}}:([^@/\s]{{1,256}})@")
_lock = threading.Lock()
_values: set[str] = set()
_longest_first: tuple[str, ...] = ()
"""``_values``, longest first (the order they are masked in): kept as they are registered,
not sorted again for every text shown."""
_KEY_CACHE = 4096  # keys whose look was remembered, at most (then the memory starts again)
_key_looks: dict[str, bool] = {}


def register_secret(value: str) -> None:
    """Mask ``value`` wherever gnomon shows text from now on (values under 4 chars ignored)."""
    global _longest_first
    if len(value) >= 4:
        with _lock:
            _values.add(value)
            _longest_first = tuple(sorted(_values, key=len, reverse=True))


def is_secret_key(key: str) -> bool:
    # Remembered per key: the same few keys are asked about at every run of a job.
    try:
        return _key_looks[key]
    except (KeyError, TypeError):
        pass
    secret = bool(_SECRET_KEY.search(key))
    if isinstance(key, str):
        if len(_key_looks) >= _KEY_CACHE:
            _key_looks.clear()
        _key_looks[key] = secret
    return secret


def redact_text(text: str) -> str:
    """Mask registered secrets and passwords in URLs (``scheme://user:***@host``)."""
    for value in _longest_first:
        if value in text:
            text = text.replace(value, MASK)
    if "://" not in text:  # no URL, no password in one (the pattern needs "://")
        return text
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def secret_values(value: Any, extra_keys: frozenset[str] = frozenset()) -> set[str]:
    """Every string stored under a secret-looking key in a JSON value (and URL passwords).

    The runner masks these in whatever an attempt reports, so a secret echoed back by a
    command or a server never reaches the history.
    """
    found: set[str] = set()
    _collect_secrets(value, extra_keys, found)
    return {v for v in found if len(v) >= 4} if found else found


def _collect_secrets(value: Any, extra_keys: frozenset[str], found: set[str]) -> None:
    """Add to ``found`` what :func:`secret_values` returns for ``value`` (short ones too)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (is_secret_key(str(key)) or key in extra_keys):
                found.add(item)
                if " " in item:  # "Bearer abc": the credential part alone, too
                    found.add(item.split(" ", 1)[1])
            elif isinstance(item, dict | list | tuple) or (isinstance(item, str) and "://" in item):
                _collect_secrets(item, extra_keys, found)  # (nothing to find in the others)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, extra_keys, found)
    elif isinstance(value, str) and "://" in value:  # the pattern needs "://"
        found.update(m.group(1) for m in _URL_PASSWORD.finditer(value))


def mask(value: Any, secrets: set[str]) -> Any:
    """A copy of a JSON value with every occurrence of ``secrets`` replaced by ``***``."""
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = value.replace(secret, MASK)
        return value
    if isinstance(value, dict):
        return {k: mask(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask(v, secrets) for v in value]
    return value


def redact(value: Any, extra_keys: frozenset[str] = frozenset()) -> Any:
    """A copy of a JSON value with secrets masked (see the module docstring)."""
    if isinstance(value, dict):
        return {
            k: MASK
            if (is_secret_key(str(k)) or k in extra_keys) and v not in (None, "")
            else redact(v, extra_keys)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v, extra_keys) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
