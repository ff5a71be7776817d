"""Devices: modules that schedule their own jobs, and the device side of MQTT commands.

- :mod:`gnomon.devices.discovery` imports ``DIR/<device>/tasks.py`` modules in isolation and
  keeps their jobs (``device:<device>:<task>``) in step with what they declare.
- :mod:`gnomon.devices.planner` is what a module's ``schedule_tasks(scheduler)`` receives.
- :mod:`gnomon.devices.device` is a small helper for the device itself (a Raspberry Pi):
  subscribe to commands, run handlers, acknowledge, publish retained state, last will.
- :mod:`gnomon.devices.simulate` runs simulated devices (the coop door) for demos and tests.
"""
