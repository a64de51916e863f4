"""``logged-models``, ``registered-models`` and ``model-versions``: MLflow's model APIs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from atelier.core.errors import NotFoundError, ValidationError
from atelier.core.mlflow_records import LoggedModelRecord, RegisteredModelRecord
from atelier.core.names import check_version
from atelier.core.records import ModelRecord
from atelier.server.mlflow._common import (
    Context,
    MlflowRoute,
    begin,
    body,
    integer,
    key_values,
    pairs,
    query,
    reply,
    text,
)
from atelier.services import mlflow_models as registry
from atelier.services import models

router = APIRouter(route_class=MlflowRoute)
API = "/api/2.0/mlflow"


# --- shapes ---------------------------------------------------------------------------
def logged_model_json(record: LoggedModelRecord) -> dict[str, Any]:
    location = f"mlflow-artifacts:/{record.experiment_id}/{record.run_id}/artifacts"
    info: dict[str, Any] = {
        "model_id": record.id,
        "experiment_id": record.experiment_id,
        "name": record.name,
        "artifact_uri": f"{location}/{record.artifact_path}",
        "creation_timestamp_ms": record.created_ms,
        "last_updated_timestamp_ms": record.updated_ms,
        "status": record.status,
        "source_run_id": record.run_id,
        "tags": pairs(record.tags),
    }
    if record.model_type:
        info["model_type"] = record.model_type
    return {"info": info, "data": {"params": pairs(record.params), "metrics": []}}


def version_json(record: ModelRecord, aliases: dict[str, int] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": record.name,
        "version": str(record.version),
        "creation_timestamp": record.created_ms,
        "last_updated_timestamp": record.created_ms,
        "user_id": "",
        "current_stage": "None",
        "description": record.description,
        "source": record.properties.get(registry.SOURCE_PROPERTY, ""),
        "status": "READY",
        "tags": pairs(record.tags),
        "aliases": [a for a, v in (aliases or {}).items() if v == record.version],
    }
    if record.run_id:
        found["run_id"] = record.run_id
    if model_id := record.properties.get(registry.MODEL_ID_PROPERTY):
        found["model_id"] = model_id
    return found


def registered_json(record: RegisteredModelRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "creation_timestamp": record.created_ms,
        "last_updated_timestamp": record.updated_ms,
        "description": record.description,
        "latest_versions": [version_json(record.latest, record.aliases)] if record.latest else [],
        "tags": pairs(record.tags),
        "aliases": [{"alias": a, "version": str(v)} for a, v in record.aliases.items()],
    }


def _version(params: dict[str, Any]) -> int:
    number = integer(params, "version")
    if number is None:
        raise ValidationError("version must be a positive whole number")
    return check_version("model", number)  # the rule of every entry point


async def _version_reply(ctx: Context, name: str, version: int) -> Response:
    record = await ctx.call(models.get, name, version)
    aliases = await ctx.call(registry.aliases_of, name)
    return reply({"model_version": version_json(record, aliases)})


# --- logged models --------------------------------------------------------------------
@router.post(f"{API}/logged-models")
async def create_logged_model(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    record = await ctx.call(
        registry.create_logged_model,
        text(params, "experiment_id"),
        text(params, "name", required=False, default="model"),
        text(params, "source_run_id", required=False) or None,
        text(params, "model_type", required=False) or None,
        key_values(params.get("tags"), "tags"),
        key_values(params.get("params"), "params"),
    )
    return reply({"model": logged_model_json(record)})


@router.post(f"{API}/logged-models/search")
async def search_logged_models(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request)
    ids = params.get("experiment_ids") or []
    if not isinstance(ids, list) or not ids:
        raise ValidationError("experiment_ids must name at least one experiment")
    found = await ctx.call(
        registry.search_logged_models, [str(i) for i in ids], text(params, "filter", required=False)
    )
    count = integer(params, "max_results", 100) or 100
    return reply({"models": [logged_model_json(r) for r in found[:count]]})


@router.get(API + "/logged-models/{model_id}")
async def get_logged_model(request: Request, model_id: str) -> Response:
    ctx = await begin(request, "read")
    record = await ctx.call(registry.get_logged_model, model_id)
    return reply({"model": logged_model_json(record)})


@router.patch(API + "/logged-models/{model_id}")
async def finalize_logged_model(request: Request, model_id: str) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    status = params.get("status")
    names = {1: "LOGGED_MODEL_PENDING", 2: "LOGGED_MODEL_READY", 3: "LOGGED_MODEL_UPLOAD_FAILED"}
    status = names.get(status, status) if isinstance(status, int) else status
    record = await ctx.call(registry.finalize_logged_model, model_id, str(status))
    return reply({"model": logged_model_json(record)})


@router.patch(API + "/logged-models/{model_id}/tags")
async def set_logged_model_tags(request: Request, model_id: str) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    tags = key_values(params.get("tags"), "tags")
    await ctx.call(registry.update_logged_model, model_id, tags)
    return reply({})


@router.delete(API + "/logged-models/{model_id}/tags/{tag_key}")
async def delete_logged_model_tag(request: Request, model_id: str, tag_key: str) -> Response:
    ctx = await begin(request, "write")
    await ctx.call(registry.update_logged_model, model_id, None, None, tag_key)
    return reply({})


@router.post(API + "/logged-models/{model_id}/params")
async def log_logged_model_params(request: Request, model_id: str) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(
        registry.update_logged_model, model_id, None, key_values(params.get("params"), "params")
    )
    return reply({})


# --- registered models ----------------------------------------------------------------
@router.post(f"{API}/registered-models/create")
async def create_registered_model(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    record = await ctx.call(
        registry.create_registered_model,
        text(params, "name"),
        text(params, "description", required=False),
        key_values(params.get("tags"), "tags"),
    )
    return reply({"registered_model": registered_json(record)})


@router.get(f"{API}/registered-models/get")
async def get_registered_model(request: Request) -> Response:
    ctx = await begin(request, "read")
    record = await ctx.call(registry.get_registered_model, text(query(request), "name"))
    return reply({"registered_model": registered_json(record)})


@router.api_route(f"{API}/registered-models/search", methods=["GET", "POST"])
async def search_registered_models(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request) if request.method == "POST" else query(request)
    found = await ctx.call(
        registry.search_registered_models, text(params, "filter", required=False)
    )
    count = integer(params, "max_results", 100) or 100
    return reply({"registered_models": [registered_json(r) for r in found[:count]]})


@router.api_route(f"{API}/registered-models/update", methods=["POST", "PATCH"])
async def update_registered_model(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    record = await ctx.call(
        registry.update_registered_model,
        text(params, "name"),
        description=text(params, "description", required=False),
    )
    return reply({"registered_model": registered_json(record)})


@router.post(f"{API}/registered-models/set-tag")
async def set_registered_model_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    tags = {text(params, "key"): text(params, "value", required=False)}
    await ctx.call(registry.update_registered_model, text(params, "name"), tags=tags)
    return reply({})


@router.delete(f"{API}/registered-models/delete-tag")
async def delete_registered_model_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = query(request) or await body(request)
    await ctx.call(
        registry.update_registered_model, text(params, "name"), remove_tag=text(params, "key")
    )
    return reply({})


@router.post(f"{API}/registered-models/alias")
async def set_alias(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    alias = (text(params, "alias"), _version(params))
    await ctx.call(registry.update_registered_model, text(params, "name"), alias=alias)
    return reply({})


@router.delete(f"{API}/registered-models/alias")
async def delete_alias(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = query(request) or await body(request)
    alias = (text(params, "alias"), None)
    await ctx.call(registry.update_registered_model, text(params, "name"), alias=alias)
    return reply({})


@router.get(f"{API}/registered-models/alias")
async def get_by_alias(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = query(request)
    name, alias = text(params, "name"), text(params, "alias")
    aliases = await ctx.call(registry.aliases_of, name)
    if alias not in aliases:
        raise NotFoundError(f"registered model {name!r} has no alias {alias!r}")
    return await _version_reply(ctx, name, aliases[alias])


@router.post(f"{API}/registered-models/get-latest-versions")
async def get_latest_versions(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request)
    record = await ctx.call(registry.get_registered_model, text(params, "name"))
    versions = [version_json(record.latest, record.aliases)] if record.latest else []
    return reply({"model_versions": versions})


# --- model versions -------------------------------------------------------------------
@router.post(f"{API}/model-versions/create")
async def create_model_version(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    record = await ctx.call(
        registry.create_model_version,
        text(params, "name"),
        text(params, "source"),
        text(params, "description", required=False),
        key_values(params.get("tags"), "tags"),
    )
    return reply({"model_version": version_json(record)})


@router.get(f"{API}/model-versions/get")
async def get_model_version(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = query(request)
    return await _version_reply(ctx, text(params, "name"), _version(params))


@router.get(f"{API}/model-versions/get-download-uri")
async def get_download_uri(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = query(request)
    path = await ctx.call(registry.download_path, text(params, "name"), _version(params))
    return reply({"artifact_uri": f"mlflow-artifacts:/{path}"})


@router.api_route(f"{API}/model-versions/search", methods=["GET", "POST"])
async def search_model_versions(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request) if request.method == "POST" else query(request)
    found = await ctx.call(registry.search_model_versions, text(params, "filter", required=False))
    count = integer(params, "max_results", 10_000) or 10_000
    return reply({"model_versions": [version_json(r) for r in found[:count]]})


@router.post(f"{API}/model-versions/set-tag")
async def set_model_version_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    tags = {text(params, "key"): text(params, "value", required=False)}
    await ctx.call(models.set_tags, text(params, "name"), _version(params), tags)
    return reply({})


@router.delete(f"{API}/model-versions/delete-tag")
async def delete_model_version_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = query(request) or await body(request)
    await ctx.call(
        models.remove_tags, text(params, "name"), _version(params), [text(params, "key")]
    )
    return reply({})
