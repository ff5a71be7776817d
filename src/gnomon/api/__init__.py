"""The REST API and dashboard (FastAPI): :func:`create_app` and :func:`serve_in_background`."""

from gnomon.api.app import create_app
from gnomon.api.ratelimit import RateLimit
from gnomon.api.server import ApiServer, serve_in_background

__all__ = ["ApiServer", "RateLimit", "create_app", "serve_in_background"]
