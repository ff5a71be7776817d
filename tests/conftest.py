"""Suite-wide hooks: the parallel lanes of ``tests/lanes.py``."""

from tests.lanes import pytest_configure, pytest_xdist_make_scheduler

__all__ = ["pytest_configure", "pytest_xdist_make_scheduler"]
