"""Lifecycle events: the model (``Event``, here), and what carries events further.

- :mod:`gnomon.events.model`: the ``Event`` record and its kinds (domain: the store imports it);
- :mod:`gnomon.events.relay`: fans events out of the events table to hooks and sinks;
- :mod:`gnomon.events.sinks`: the webhook and MQTT sinks;
- :mod:`gnomon.events.notifications`: a job's own notifications about its runs.

Importing this package loads the model only.
"""

from gnomon.events.model import Event

__all__ = ["Event"]
