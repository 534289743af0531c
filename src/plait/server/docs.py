"""``/docs``: the Swagger UI over ``/openapi.json``, served from this machine.

FastAPI's own page loads Swagger UI from a CDN with an inline script: blocked by the
UI's content policy, and absent offline. Here the assets come from the
``swagger-ui-bundle-v2`` package (Swagger UI 5: FastAPI writes OpenAPI 3.1) (the ``serve`` extra) and the page runs only scripts
of this origin. Without the package there is no ``/docs``; ``/openapi.json`` stays.
"""

from __future__ import annotations

from typing import Any

# Swagger UI sets inline styles on the elements it draws; scripts stay 'self' only.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'"
)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>plait API</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""


def install(app: Any) -> bool:
    """Serve ``/docs`` if the Swagger UI assets are installed; returns whether it did."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return False
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_CSP})

    return True
