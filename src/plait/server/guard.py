"""What every request passes before a route: the host check, the upload cap, and the
security headers on every response.

A pure ASGI middleware rather than Starlette's ``@app.middleware("http")``: that one
wraps each request and response in extra tasks and streams, a cost paid on every
search (part of the per-request overhead that bounded text search under load).
"""

from __future__ import annotations

from typing import Any

from plait.errors import HostNotAllowedError, PayloadTooLargeError
from plait.server import errors

# The UI loads nothing from anywhere else: no CDN, no fonts, no analytics.
UI_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
UPLOAD_SLACK = 64 * 1024  # multipart overhead allowed above the upload limit
_SECURITY_HEADERS = (
    (b"content-security-policy", UI_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


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


class Guard:
    """Refuses requests to a foreign host name or with an oversized body; adds the
    security headers a response does not set itself."""

    def __init__(self, app: Any, *, settings: Any, upload_cap: int) -> None:
        self.app, self.settings, self.upload_cap = app, settings, upload_cap

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        refusal: Exception | None = None
        if not host_allowed(self.settings, headers.get(b"host", b"").decode("latin-1")):
            refusal = HostNotAllowedError(
                "this server answers only requests to its own host name "
                "(set allowed hosts to serve another)"
            )
        else:
            length = headers.get(b"content-length", b"").decode("latin-1")
            if scope["method"] == "POST" and length.isdigit() and int(length) > self.upload_cap:
                cap = self.upload_cap - UPLOAD_SLACK
                refusal = PayloadTooLargeError(
                    f"request body of {length} bytes is over the limit of {cap}"
                )

        async def send_secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or ())
                present = {k.lower() for k, _ in raw}
                raw += [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
                message = {**message, "headers": raw}
            await send(message)

        if refusal is not None:
            await errors.error_response(refusal)(scope, receive, send_secured)
            return
        await self.app(scope, receive, send_secured)
