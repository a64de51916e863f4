"""``/api/2.0/mlflow/experiments/*``, ``runs/*`` and ``metrics/*``: MLflow's tracking API."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request, Response

from atelier.core.errors import ValidationError
from atelier.core.mlflow_records import MlflowRun
from atelier.core.records import ExperimentRecord
from atelier.server.mlflow._common import (
    MlflowRoute,
    begin,
    body,
    integer,
    key_values,
    number,
    pairs,
    query,
    reply,
    text,
)
from atelier.services import mlflow_tracking as tracking
from atelier.services import runs

router = APIRouter(route_class=MlflowRoute)
API = "/api/2.0/mlflow"
MAX_RESULTS = 50_000
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS_TAGS = 100


# --- shapes ---------------------------------------------------------------------------
def experiment_json(record: ExperimentRecord) -> dict[str, Any]:
    return {
        "experiment_id": record.id,
        "name": tracking.mlflow_name(record),
        "artifact_location": f"mlflow-artifacts:/{record.id}",
        "lifecycle_stage": "deleted" if record.archived else "active",
        "creation_time": record.created_ms,
        "last_update_time": record.created_ms,
        "tags": pairs(record.tags),
    }


def run_info_json(view: MlflowRun) -> dict[str, Any]:
    run = view.run
    info: dict[str, Any] = {
        "run_id": run.run_id,
        "run_uuid": run.run_id,
        "run_name": run.display_name,
        "experiment_id": run.experiment_id,
        "user_id": run.tags.get(tracking.USER_TAG, ""),
        "status": tracking.TO_MLFLOW_STATUS[run.status],
        "start_time": run.started_ms or run.created_ms,
        "artifact_uri": f"mlflow-artifacts:/{run.experiment_id}/{run.run_id}/artifacts",
        "lifecycle_stage": "active",
    }
    if run.ended_ms is not None:
        info["end_time"] = run.ended_ms
    return info


def run_json(view: MlflowRun) -> dict[str, Any]:
    run = view.run
    tags = {**run.tags, tracking.RUN_NAME_TAG: run.display_name}
    if run.parent_run_id:
        tags[tracking.PARENT_TAG] = run.parent_run_id
    return {
        "info": run_info_json(view),
        "data": {
            "metrics": [
                {"key": m.key, "value": m.value, "timestamp": m.timestamp_ms, "step": m.step}
                for m in view.metrics
            ],
            "params": pairs(run.properties),
            "tags": pairs(tags),
        },
        "inputs": {"dataset_inputs": [], "model_inputs": []},
        "outputs": {
            "model_outputs": [{"model_id": mid, "step": step} for mid, step in view.model_outputs]
        },
    }


def _page_token(offset: int | None) -> dict[str, str]:
    if offset is None:
        return {}
    token = base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()
    return {"next_page_token": token}


def _offset(token: Any) -> int:
    if not token:
        return 0
    try:
        offset = int(json.loads(base64.urlsafe_b64decode(str(token)))["offset"])
    except (ValueError, KeyError, TypeError):
        raise ValidationError(
            "page_token is not one this server gave out; pass the next_page_token as returned"
        ) from None
    if offset < 0:
        raise ValidationError("page_token is not one this server gave out")
    return offset


def _max_results(params: dict[str, Any], default: int) -> int:
    count = integer(params, "max_results", default)
    assert count is not None
    if not 1 <= count <= MAX_RESULTS:
        raise ValidationError(f"max_results must be between 1 and {MAX_RESULTS}, not {count}")
    return count


def _run_id(params: dict[str, Any]) -> str:
    return text(params, "run_id", required=False) or text(params, "run_uuid")


# --- experiments ----------------------------------------------------------------------
@router.post(f"{API}/experiments/create")
async def create_experiment(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    record = await ctx.call(
        tracking.create_experiment, text(params, "name"), key_values(params.get("tags"), "tags")
    )
    return reply({"experiment_id": record.id})


@router.get(f"{API}/experiments/get")
async def get_experiment(request: Request) -> Response:
    ctx = await begin(request, "read")
    record = await ctx.call(tracking.get_experiment, text(query(request), "experiment_id"))
    return reply({"experiment": experiment_json(record)})


@router.get(f"{API}/experiments/get-by-name")
async def get_experiment_by_name(request: Request) -> Response:
    ctx = await begin(request, "read")
    name = text(query(request), "experiment_name")
    record = await ctx.call(tracking.experiment_by_name, name)
    return reply({"experiment": experiment_json(record)})


@router.api_route(f"{API}/experiments/search", methods=["GET", "POST"])
async def search_experiments(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request) if request.method == "POST" else query(request)
    view = text(params, "view_type", required=False, default="ACTIVE_ONLY")
    found = await ctx.call(
        tracking.search_experiments, view, text(params, "filter", required=False)
    )
    offset = _offset(params.get("page_token"))
    count = _max_results(params, 1000)
    page = found[offset : offset + count]
    following = offset + count if offset + count < len(found) else None
    return reply({"experiments": [experiment_json(r) for r in page], **_page_token(following)})


@router.post(f"{API}/experiments/delete")
async def delete_experiment(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(tracking.set_experiment_deleted, text(params, "experiment_id"), True)
    return reply({})


@router.post(f"{API}/experiments/restore")
async def restore_experiment(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(tracking.set_experiment_deleted, text(params, "experiment_id"), False)
    return reply({})


@router.post(f"{API}/experiments/set-experiment-tag")
async def set_experiment_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(
        tracking.set_experiment_tag,
        text(params, "experiment_id"),
        text(params, "key"),
        text(params, "value", required=False),
    )
    return reply({})


# --- runs -----------------------------------------------------------------------------
@router.post(f"{API}/runs/create")
async def create_run(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    tags = key_values(params.get("tags"), "tags")
    view = await ctx.call(
        tracking.create_run,
        text(params, "experiment_id", required=False, default=tracking.DEFAULT_EXPERIMENT_ID),
        text(params, "run_name", required=False) or None,
        tags,
    )
    return reply({"run": run_json(view)})


@router.get(f"{API}/runs/get")
async def get_run(request: Request) -> Response:
    ctx = await begin(request, "read")
    run_id = _run_id(query(request))
    return reply({"run": run_json(await ctx.call(tracking.get_run, run_id))})


@router.post(f"{API}/runs/update")
async def update_run(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    view = await ctx.call(
        tracking.update_run,
        _run_id(params),
        text(params, "status", required=False) or None,
        text(params, "run_name", required=False) or None,
    )
    return reply({"run_info": run_info_json(view)})


@router.post(f"{API}/runs/log-metric")
async def log_metric(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    point = (
        text(params, "key"),
        number(params, "value"),
        integer(params, "timestamp", 0) or 0,
        integer(params, "step", 0) or 0,
    )
    await ctx.call(tracking.log_batch, _run_id(params), [point], {}, {})
    return reply({})


@router.post(f"{API}/runs/log-parameter")
async def log_param(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    param = {text(params, "key"): text(params, "value", required=False)}
    await ctx.call(runs.add_properties, _run_id(params), param)
    return reply({})


@router.post(f"{API}/runs/set-tag")
async def set_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    tag = {text(params, "key"): text(params, "value", required=False)}
    await ctx.call(tracking.set_tags, _run_id(params), tag)
    return reply({})


@router.post(f"{API}/runs/delete-tag")
async def delete_tag(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(tracking.delete_tag, text(params, "run_id"), text(params, "key"))
    return reply({})


def _batch_metrics(items: Any) -> list[tracking.MetricInput]:
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_BATCH_METRICS:
        raise ValidationError(f"metrics must be a list of at most {MAX_BATCH_METRICS} metrics")
    points = []
    for item in items:
        if not isinstance(item, dict):
            raise ValidationError(f"each metric must be an object, got {item!r}")
        points.append(
            (
                text(item, "key"),
                number(item, "value"),
                integer(item, "timestamp", 0) or 0,
                integer(item, "step", 0) or 0,
            )
        )
    return points


@router.post(f"{API}/runs/log-batch")
async def log_batch(request: Request) -> Response:
    ctx = await begin(request, "write")
    params = await body(request)
    points = _batch_metrics(params.get("metrics"))
    batch_params = key_values(params.get("params"), "params")
    tags = key_values(params.get("tags"), "tags")
    if len(batch_params) > MAX_BATCH_PARAMS_TAGS or len(tags) > MAX_BATCH_PARAMS_TAGS:
        raise ValidationError(f"a batch holds at most {MAX_BATCH_PARAMS_TAGS} params and tags")
    await ctx.call(tracking.log_batch, text(params, "run_id"), points, batch_params, tags)
    return reply({})


@router.post(f"{API}/runs/log-inputs")
async def log_inputs(request: Request) -> Response:
    # Datasets and model inputs are accepted and not kept: Atelier has no dataset
    # lineage yet, and refusing would make autologging fail.
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(tracking.require_run_rows, text(params, "run_id"))
    return reply({})


@router.post(f"{API}/runs/outputs")
async def log_outputs(request: Request) -> Response:
    # A run's model outputs are its logged models (each records its source run).
    ctx = await begin(request, "write")
    params = await body(request)
    await ctx.call(tracking.require_run_rows, text(params, "run_id"))
    return reply({})


@router.api_route(f"{API}/runs/search", methods=["GET", "POST"])
async def search_runs(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = await body(request) if request.method == "POST" else query(request)
    experiment_ids = params.get("experiment_ids") or []
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    if not isinstance(experiment_ids, list) or not experiment_ids:
        raise ValidationError("experiment_ids must name at least one experiment")
    order_by = params.get("order_by") or []
    if isinstance(order_by, str):
        order_by = [order_by]
    found, following = await ctx.call(
        tracking.search_runs,
        [str(e) for e in experiment_ids],
        text(params, "filter", required=False) or None,
        order_by,
        _max_results(params, 1000),
        _offset(params.get("page_token")),
    )
    return reply({"runs": [run_json(v) for v in found], **_page_token(following)})


@router.get(f"{API}/metrics/get-history")
async def get_metric_history(request: Request) -> Response:
    ctx = await begin(request, "read")
    params = query(request)
    run_id = _run_id(params)
    key = text(params, "metric_key")
    points = await ctx.call(tracking.metric_history, run_id, key)
    offset = _offset(params.get("page_token"))
    count = _max_results(params, MAX_RESULTS)
    page = points[offset : offset + count]
    following = offset + count if offset + count < len(points) else None
    metrics = [
        {
            "key": key,
            "value": p.value,
            "timestamp": p.timestamp_ms,
            "step": p.step,
            "run_id": run_id,
        }
        for p in page
    ]
    return reply({"metrics": metrics, **_page_token(following)})


@router.get("/api/3.0/mlflow/server-info")
async def server_info(request: Request) -> Response:
    await begin(request, "read")
    # workspaces_enabled: MLflow 3 clients send MLFLOW_WORKSPACE as a header only then
    return reply(
        {
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "workspaces_enabled": True,
        }
    )
