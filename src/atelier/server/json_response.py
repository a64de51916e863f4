"""JSON responses that carry NaN and infinite metric values (as ``NaN``/``Infinity`` tokens,
which Python's ``json`` and so Atelier's client read back), where Starlette's default
refuses them with a server error."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class MetricJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=True, indent=None, separators=(",", ":")
        ).encode("utf-8")
