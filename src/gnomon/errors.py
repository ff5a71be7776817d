"""The one exception tree of gnomon.

Every error gnomon raises on purpose is a :class:`GnomonError`; its message is one line that
says what is wrong and where, fit to show a person as it is. Driver errors are translated at
the boundary (``raise StoreUnavailable(...) from exc``). A failed *action* is not an
exception: it is an :class:`~gnomon.models.Outcome` recorded in the history.

::

    GnomonError
    ├── ConfigError              bad settings, bad database URL
    ├── InvalidSpec              bad input for a job (also a ValueError)
    │   ├── InvalidTrigger       a schedule that cannot be read or never fires
    │   ├── InvalidAction        unknown action kind or bad action config
    │   └── InvalidPolicy        negative timeout, unknown misfire policy, ...
    ├── NotFound                 (also a LookupError)
    │   ├── JobNotFound
    │   └── RunNotFound
    ├── Conflict
    │   └── JobExists            a job with that id is already stored
    ├── StoreError
    │   ├── StoreUnavailable     the database cannot be reached
    │   └── MigrationError       the schema could not be brought up to date
    ├── DeliveryFailed           an event sink could not deliver an event (it is retried)
    └── MqttError                (gnomon.actions.mqtt_broker) an MQTT exchange did not complete
        ├── BrokerUnavailable    unreachable, login refused, connection lost
        ├── BrokerRefused        a failure reason code for SUBSCRIBE or PUBLISH
        ├── MqttDeadline         the deadline passed while waiting
        └── MqttCancelled        the run was cancelled while waiting
"""

from __future__ import annotations


class GnomonError(Exception):
    """Root of every error gnomon raises on purpose."""


class ConfigError(GnomonError):
    """Settings or a database URL are not usable."""


class InvalidSpec(GnomonError, ValueError):
    """The description of a job is wrong; nothing was stored."""


class InvalidTrigger(InvalidSpec):
    """A schedule cannot be read, is ambiguous, is in the past or never fires."""


class InvalidAction(InvalidSpec):
    """An action kind is unknown or its config is not valid."""


class InvalidPolicy(InvalidSpec):
    """A retry, timeout, misfire or overlap setting is not valid."""


class NotFound(GnomonError, LookupError):
    """Something looked up by id does not exist."""


class JobNotFound(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id


class RunNotFound(NotFound):
    def __init__(self, run_id: int) -> None:
        super().__init__(f"no run with id {run_id}")
        self.run_id = run_id


class Conflict(GnomonError):
    """The change conflicts with what is stored."""


class JobExists(Conflict):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"a job with id {job_id!r} already exists (use update, or another id)")
        self.job_id = job_id


class StoreError(GnomonError):
    """The store failed."""


class StoreUnavailable(StoreError):
    """The database cannot be reached."""


class MigrationError(StoreError):
    """The schema could not be brought up to date."""


class DeliveryFailed(GnomonError):
    """An event sink could not deliver an event; the relay retries it with backoff."""
