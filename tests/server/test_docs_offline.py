"""``/docs`` works without the internet: every script, style sheet and icon the page loads
is served by the server itself, from the package."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import web


def test_docs_page_loads_only_local_assets(server: Any) -> None:
    page = web.get(f"{server.url}/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]|url: ['"]([^'"]+)['"]""", page.text)
    loaded = [a or b for a, b in urls]
    assert loaded, page.text
    assert not [u for u in loaded if u.startswith(("http:", "https:", "//"))], loaded
    assert "/docs/assets/swagger-ui-bundle.js" in loaded
    for url in loaded:
        asset = web.get(f"{server.url}{url}")
        assert asset.status_code == 200, url
    script = web.get(f"{server.url}/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in script.text
    assert web.get(f"{server.url}/docs/assets/LICENSE").status_code == 404
    assert web.get(f"{server.url}/docs/assets/..%2Fapp.py").status_code == 404
