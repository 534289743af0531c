"""The one place where exceptions become JSON responses (the classes: :mod:`plait.errors`).

Every :class:`plait.errors.PlaitError` maps to its ``http_status``; unknown names
carry the valid ones; request validation failures are 422 with field details;
anything else is a 500 with no traceback in the body (it goes to the log).
FastAPI is imported inside the functions.
"""

from __future__ import annotations

import logging
from typing import Any

from plait.errors import PlaitError, UnknownNameError

log = logging.getLogger("plait.server")


def body(status: int, error: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "error": error,
        "message": message,
        "status": status,
        **{k: v for k, v in extra.items() if v is not None},
    }


def error_content(exc: Exception) -> tuple[int, dict[str, Any]]:
    """The status and JSON body for any exception."""
    if isinstance(exc, UnknownNameError):
        status = exc.http_status
        content = body(
            status, type(exc).__name__, str(exc), kind=exc.kind, name=exc.name, valid=exc.valid
        )
    elif isinstance(exc, PlaitError):
        status = exc.http_status
        content = body(status, type(exc).__name__, str(exc))
    else:
        log.exception("internal error", exc_info=exc)
        status = 500
        content = body(
            500, "InternalError", "internal server error (the server log has the traceback)"
        )
    return status, content


def error_response(exc: Exception) -> Any:
    from fastapi.responses import JSONResponse

    status, content = error_content(exc)
    return JSONResponse(content, status_code=status)


def install(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    async def on_plait(_: Any, exc: Exception) -> JSONResponse:
        return error_response(exc)

    async def on_validation(_: Any, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)
        return JSONResponse(
            body(422, "ValidationError", msg or "invalid request", detail=errors), 422
        )

    async def on_http(_: Any, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            body(exc.status_code, "HTTPError", str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    async def on_model(_: Any, exc: Exception) -> JSONResponse:
        """A model built inside a handler from query values (e.g. Filters) refused them."""
        from pydantic import ValidationError

        assert isinstance(exc, ValidationError)
        msg = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return JSONResponse(body(422, "ValidationError", msg or "invalid request"), 422)

    from pydantic import ValidationError

    app.add_exception_handler(PlaitError, on_plait)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ValidationError, on_model)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_plait)
