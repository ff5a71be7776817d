"""A deliberately broken device module: discovery reports it and carries on with the others."""

import gnomon_this_module_does_not_exist  # noqa: F401


def schedule_tasks(scheduler):
    raise AssertionError("never reached")
