"""``/docs`` served offline: Swagger UI's page with its script, style sheet and icon from
the package (``server/static/swagger-ui``, from the npm package swagger-ui-dist), not a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from atelier.server.auth import PUBLIC, guard

ASSETS = Path(__file__).parent / "static" / "swagger-ui"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
PREFIX = "/docs/assets"


def add_offline_docs(app: FastAPI, openapi_url: str = "/openapi.json") -> None:
    @app.get("/docs", dependencies=guard(PUBLIC), include_in_schema=False)
    def docs() -> HTMLResponse:
        """Swagger UI for this server's API, with its assets served from here."""
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title="Atelier API",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon-32x32.png",
        )

    @app.get(f"{PREFIX}/{{name}}", dependencies=guard(PUBLIC), include_in_schema=False)
    def asset(name: str) -> FileResponse:
        """One of Swagger UI's files (only those the page loads)."""
        if name not in ASSET_TYPES:
            raise HTTPException(status_code=404, detail=f"no docs asset {name!r}")
        return FileResponse(ASSETS / name, media_type=ASSET_TYPES[name])
