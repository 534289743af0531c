"""The app factory: ``create_app(corpora or settings) -> FastAPI``.

Everything the app needs lives on ``app.state.plait`` (an :class:`AppState`),
created here; nothing is module-level, so tests can build many apps in one
process. The static UI is served from ``/`` and talks only to ``/api``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from plait._deps import require

STATIC = Path(__file__).parent / "static"

# The UI loads nothing from anywhere else: no CDN, no fonts, no analytics.
UI_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def create_app(
    corpora: str | Path | Sequence[str | Path] | Mapping[str, str | Path] | Any,
    **options: Any,
) -> Any:
    """A FastAPI app serving ``corpora`` (a path, several, ``{name: path}`` or
    :class:`ServerSettings`); ``options`` set ServerSettings fields (api_key, ...)."""
    require("fastapi", "serve", "plait serve")
    from fastapi import FastAPI, Request
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles

    from plait.errors import HostNotAllowedError, PayloadTooLargeError
    from plait.server import docs, errors
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

    upload_cap = settings.max_upload_bytes + 64 * 1024  # multipart overhead

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        if not host_allowed(settings, request.headers.get("host", "")):
            return errors.error_response(
                HostNotAllowedError(
                    "this server answers only requests to its own host name "
                    "(set allowed hosts to serve another)"
                )
            )
        length = request.headers.get("content-length")
        if request.method == "POST" and length and length.isdigit() and int(length) > upload_cap:
            return errors.error_response(
                PayloadTooLargeError(
                    f"request body of {length} bytes is over the limit of {settings.max_upload_bytes}"
                )
            )
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", UI_CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

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


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback(host: str) -> bool:
    import ipaddress

    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(settings: Any, header: str) -> bool:
    """Whether a request's ``Host`` may be served. Bound to loopback, only loopback names
    (and ``allowed_hosts``) are: a page on another site that rebinds its DNS name to
    127.0.0.1 sends its own name and is refused. Bound elsewhere, ``allowed_hosts``
    (when set) is the list; an app whose address is unknown (tests) serves any host."""
    allowed = {h.lower() for h in settings.allowed_hosts}
    local = settings.host is not None and is_loopback(settings.host)
    if not allowed and not local:
        return True
    name = header.strip().lower()
    if name.startswith("["):  # [::1]:8765
        name = name[1 : name.find("]")] if "]" in name else name
    elif name.count(":") == 1:
        name = name.rsplit(":", 1)[0]
    return name in allowed or (local and is_loopback(name))


def app_from_env() -> Any:
    """The app a worker process of ``plait serve --workers N`` builds (uvicorn factory):
    its settings come as JSON in ``PLAIT_SERVE_SETTINGS``."""
    import json
    import os

    from plait.server.settings import SETTINGS_ENV

    options = json.loads(os.environ[SETTINGS_ENV])
    return create_app(options.pop("corpora"), **options)
