"""The app factory: ``create_app(corpora or settings) -> FastAPI``.

Everything the app needs lives on ``app.state.plait`` (an :class:`AppState`),
created here; nothing is module-level, so tests can build many apps in one
process. The static UI is served from ``/`` and talks only to ``/api``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from plait._deps import require

STATIC = Path(__file__).parent / "static"


def create_app(
    corpora: str | Path | Sequence[str | Path] | Mapping[str, str | Path] | Any,
    **options: Any,
) -> Any:
    """A FastAPI app serving ``corpora`` (a path, several, ``{name: path}`` or
    :class:`ServerSettings`); ``options`` set ServerSettings fields (api_key, ...)."""
    require("fastapi", "serve", "plait serve")
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    from plait.server import docs, errors
    from plait.server.guard import UPLOAD_SLACK, Guard
    from plait.server.routes import ask, export, samples, search
    from plait.server.routes import corpora as corpora_routes
    from plait.server.settings import ServerSettings
    from plait.server.state import AppState, one_thread_per_request

    settings = (
        corpora if isinstance(corpora, ServerSettings) else ServerSettings.build(corpora, **options)
    )
    state = AppState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI):  # noqa: ANN202
        one_thread_per_request()
        state.jobs.start()  # finishes export jobs an earlier server left
        if settings.preload:
            state.preload()
        yield
        state.close()

    import plait

    app = FastAPI(
        title="plait",
        version=plait.__version__,
        lifespan=lifespan,
        description="Search, inspect and export a plait corpus. Writes need the API key.",
        docs_url=None,  # FastAPI's pages load scripts from a CDN: plait.server.docs instead
        redoc_url=None,
    )
    app.state.plait = state
    errors.install(app)
    for module in (corpora_routes, samples, search, export, ask):
        app.include_router(module.router)

    app.add_middleware(
        Guard, settings=settings, upload_cap=settings.max_upload_bytes + UPLOAD_SLACK
    )

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, Any]:
        return {"ok": True, "version": plait.__version__}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/{rest:path}", include_in_schema=False)
    def unknown_api(rest: str) -> JSONResponse:
        return JSONResponse(errors.body(404, "NotFound", f"no API route /api/{rest}"), 404)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    docs.install(app)
    return app


def app_from_env() -> Any:
    """The app a worker process of ``plait serve --workers N`` builds (uvicorn factory):
    its settings come as JSON in ``PLAIT_SERVE_SETTINGS``."""
    import json
    import os

    from plait.server.settings import SETTINGS_ENV

    options = json.loads(os.environ[SETTINGS_ENV])
    return create_app(options.pop("corpora"), **options)
