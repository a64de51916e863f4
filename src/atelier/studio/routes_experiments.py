"""An experiment's runs table: filter, sort, columns and page all in the URL, so a view
can be shared; the database does the filtering, sorting and paging."""

from __future__ import annotations

import math
from functools import partial
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from atelier.core import run_filter
from atelier.core.errors import FilterSyntaxError, ValidationError
from atelier.server.auth import READ, WRITE
from atelier.services import experiments, run_table
from atelier.studio import render
from atelier.studio.context import database_of, may
from atelier.studio.security import SECURITY_HEADERS, page_guard

router = APIRouter(tags=["studio"], include_in_schema=False)

EXPERIMENT = "/workspaces/{workspace}/experiments/{name}"
FIXED = (
    ("number", "#"),
    ("name", "Name"),
    ("status", "Status"),
    ("created", "Created"),
    ("duration", "Duration"),
)
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_COLUMNS = 6


def parse_column(text: str) -> run_table.Column:
    """``metrics.accuracy`` → ("metrics", "accuracy"); ``created`` → an attribute."""
    head, dot, key = text.partition(".")
    entity = run_filter.ENTITIES.get(head.lower()) if dot else None
    if entity is None:
        if text in dict(FIXED):
            return ("attributes", text)
        raise ValidationError(
            f"column {text!r} is not metrics.NAME, params.NAME, tags.NAME or one of "
            + ", ".join(dict(FIXED))
        )
    if not key:
        raise ValidationError(f"column {text!r} names no key")
    return (entity, key)


def _default_columns(names: run_table.ColumnNames) -> list[run_table.Column]:
    return [("metrics", n) for n in names.metrics[:DEFAULT_COLUMNS]] + [
        ("params", n) for n in names.params[:DEFAULT_COLUMNS]
    ]


@router.get(EXPERIMENT, dependencies=page_guard(READ), response_class=HTMLResponse)
def experiment_page(
    workspace: str,
    name: str,
    request: Request,
    filter: Annotated[str, Query(max_length=2000)] = "",
    sort: Annotated[str, Query(max_length=300)] = "created",
    desc: Annotated[int, Query(ge=0, le=1)] = 1,
    page_number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=200)] = 50,
    cols: Annotated[list[str] | None, Query(max_length=300)] = None,
    group: Annotated[str, Query(max_length=300)] = "",
    fragment: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    """The runs table of an experiment (with ``fragment=1``, the page's main part only)."""
    sort_column = parse_column(sort)
    columns = [parse_column(c) for c in (cols or [])][:100]
    filter_error = None
    try:
        clauses = run_filter.parse(filter)
    except FilterSyntaxError as exc:
        clauses, filter_error = [], exc
    with database_of(request).session() as session:
        record = experiments.get(session, workspace, name)
        names = run_table.column_names(session, workspace, name)
        if cols is None:
            columns = _default_columns(names)
        table = run_table.table_page(
            session,
            workspace,
            name,
            clauses=clauses,
            sort=sort_column,
            descending=bool(desc),
            offset=(page_number - 1) * size,
            limit=size,
            columns=columns,
        )
        groups = None
        if group and filter_error is None:
            groups = run_table.group_rows(
                session,
                workspace,
                name,
                clauses=clauses,
                group=parse_column(group),
                metric_names=[k for e, k in columns if e == "metrics"],
            )
    state: dict[str, Any] = {
        "filter": filter or None,
        "sort": sort if sort != "created" else None,
        "desc": desc if desc != 1 else None,
        "page": page_number if page_number != 1 else None,
        "size": size if size != 50 else None,
        "cols": [f"{e}.{k}" for e, k in columns] if cols is not None else None,
        "group": group or None,
    }

    def link(**changes: Any) -> str:
        merged = {**state, **changes}
        query = urlencode({k: v for k, v in merged.items() if v is not None}, doseq=True)
        base = f"/workspaces/{quote(workspace)}/experiments/{quote(name, safe='')}"
        return f"{base}?{query}" if query else base

    def group_link(value: str) -> str:
        """The table filtered to one group's runs."""
        quote_mark = "'" if '"' in value else '"'  # the grammar has no escapes
        quoted = quote_mark + value.replace(quote_mark, "") + quote_mark
        narrowed = f"{group} = {quoted}"
        return link(
            filter=f"{filter} and {narrowed}" if filter else narrowed, group=None, page=None
        )

    offered = [("metrics", names.metrics), ("params", names.params), ("tags", names.tags)]
    draw = partial(render.fragment, request, "experiment.html", "main") if fragment else None
    return (draw or partial(render.page, request, "experiment.html"))(
        workspace=workspace,
        experiment=name,
        archived=record.archived,
        rows=table.rows,
        total=table.total,
        columns=columns,
        offered=offered,
        fixed=FIXED,
        sort=sort_column,
        descending=bool(desc),
        filter_text=filter,
        filter_error=filter_error,
        page_number=page_number,
        pages=max(1, math.ceil(table.total / size)),
        link=link,
        group=group,
        groups=groups,
        group_link=group_link,
        may=may(request, workspace),
    )


@router.post(f"{EXPERIMENT}/archive", dependencies=page_guard(WRITE), response_model=None)
def archive(workspace: str, name: str, request: Request) -> RedirectResponse:
    """Archive the experiment (Contributor)."""
    with database_of(request).session() as session:
        experiments.set_archived(session, workspace, name, True)
    answer = RedirectResponse(
        f"/workspaces/{quote(workspace)}/experiments/{quote(name, safe='')}", 303
    )
    answer.headers.update(SECURITY_HEADERS)
    return answer
