"""What gnomon says about open mode and tokens — one wording, used by every face.

*Open mode*: a server bound to a loopback address while no live token exists serves every
request from this machine as ``admin``. The first token ends it; revoking the last one brings
it back (``gnomon token revoke --reopen``). The startup banners, the dashboard, the README,
``docs/api.md`` and ``gnomon token`` all use these sentences and this one command, so the
advice never disagrees with itself. Plain strings: the CLI imports this without FastAPI.
"""

from __future__ import annotations

FIRST_TOKEN_COMMAND = "gnomon token create NAME --scope admin"  # noqa: S105 - a message, not a password
"""The one recommended command: an ``admin`` token keeps what open mode allowed."""

FIRST_TOKEN_ENDS_OPEN_MODE = (
    "creating the first token ends open mode: from then on every request needs a token"  # noqa: S105 - a message, not a password
)

OPEN_MODE_NOTICE = (
    "open mode: no API token exists, so anyone on this machine can use the API and dashboard "
    "as admin, which can run commands here"
)

OPEN_MODE_ADVICE = f"{OPEN_MODE_NOTICE}; {FIRST_TOKEN_ENDS_OPEN_MODE} ({FIRST_TOKEN_COMMAND})"
"""The startup banner and the log warning."""

OPEN_MODE_ENDED = (
    "this is the first token, so open mode has ended: from now on every request needs a token"
)

LAST_TOKEN_REFUSAL = (
    "{name!r} is the last live token: revoking it would bring open mode back (every request "  # noqa: S105 - a message, not a password
    "from this machine served as admin, no token needed). Create another token first, or "
    "give --reopen"
)

OPEN_MODE_BACK = (
    "no live token is left, so open mode is back for loopback: a server on 127.0.0.1 serves "
    "every request from this machine as admin (a server started in open mode at once, others "
    f"from their next start); {FIRST_TOKEN_COMMAND} ends it again"
)
