"""The service as `make bench` runs it under uvicorn: `create_app` from CARDSVC_* settings, plus one
trivial route — the framework's ceiling measured in the same process, same server, same run.

    python -m uvicorn bench.http_server:create --factory --port N
"""

from __future__ import annotations

from fastapi import FastAPI

from cardsvc.api import create_app
from cardsvc.settings import load_settings

TRIVIAL = "/bench/trivial"


def create() -> FastAPI:
    app = create_app(load_settings())

    # A sync route like the service's own: FastAPI runs both in its thread pool.
    @app.get(TRIVIAL, include_in_schema=False)
    def trivial() -> dict[str, bool]:
        return {"ok": True}

    return app
