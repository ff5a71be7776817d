"""The dashboard: server-rendered pages over the same services as the API."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the dashboard pages and static files on ``app``."""
    from gnomon.web.pages import install as install_pages

    install_pages(app)
