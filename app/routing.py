"""The project's router: FastAPI's, with every sync endpoint run as a step (app/db.py, "Where sync
steps run"), on the event loop where the database is a local SQLite file instead of a thread-pool hop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from app.db import as_step


class Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, as_step(endpoint), **kwargs)
