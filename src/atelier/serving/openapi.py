"""The OpenAPI document (``/swagger.json``) of a scoring app, built from ``run``'s schemas."""

from __future__ import annotations

from typing import Any

from atelier.serving.entry import EntryScript

__all__ = ["openapi_document"]

_PROBLEM = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


def _input_schema(entry: EntryScript) -> dict[str, Any]:
    if not entry.input_schemas:
        return {"description": "Any JSON document; run() receives it as a string."}
    properties = {name: kind.json_schema() for name, kind in entry.input_schemas.items()}
    example = {name: kind.sample_example() for name, kind in entry.input_schemas.items()}
    return {"type": "object", "properties": properties, "example": example}


def _output_schema(entry: EntryScript) -> dict[str, Any]:
    if entry.output_schema is None:
        return {"description": "What run() returned, as JSON."}
    return entry.output_schema.json_schema()


def openapi_document(entry: EntryScript, *, title: str, secured: bool) -> dict[str, Any]:
    """An OpenAPI 3.0 document describing ``/score`` and the probes."""
    score: dict[str, Any] = {
        "summary": "Score one request with the entry script's run()",
        "operationId": "score",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _input_schema(entry)}},
        },
        "responses": {
            "200": {
                "description": "run()'s result",
                "content": {"application/json": {"schema": _output_schema(entry)}},
            },
            "400": _problem("The body is not valid JSON or lacks an input"),
            "401": _problem("Missing or wrong bearer key"),
            "413": _problem("The body is larger than the limit"),
            "500": _problem("run() failed; the server log has the details"),
            "503": _problem("init() has not succeeded"),
            "504": _problem("run() took longer than the timeout"),
        },
    }
    if secured:
        score["security"] = [{"bearer": []}]
    probe = {"responses": {"200": {"description": "OK"}, "503": {"description": "Not ready"}}}
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0"},
        "paths": {
            "/score": {"post": score},
            "/healthz": {"get": {"summary": "The process is up", "responses": probe["responses"]}},
            "/readyz": {"get": {"summary": "init() succeeded", "responses": probe["responses"]}},
        },
        "components": {"schemas": {"Problem": _PROBLEM}},
    }
    if secured:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document
