"""The Studio's pages over HTTP: sign-in and session, CSRF, roles, escaping, headers,
the runs table's filter, sort and paging, run pages, links that name a run only."""

from __future__ import annotations

import re

from atelier.services import metrics, runs
from tests.helpers import web
from tests.helpers.studio_data import NASTY
from tests.studio.conftest import EXPERIMENT, RUNS, WORKSPACE, Studio, csrf_of

HTML = {"Accept": "text/html"}
TABLE = f"/workspaces/{WORKSPACE}/experiments/{EXPERIMENT}"


def _names(html: str) -> list[str]:
    return re.findall(r">(run-\d+)</a>", html)


def test_signing_in_sets_a_strict_http_only_cookie_and_signing_out_ends_it(
    studio: Studio,
) -> None:
    with web.Client(base_url=studio.url, headers=HTML) as client:
        anonymous = client.get("/workspaces/lab")
        assert anonymous.status_code == 303
        assert anonymous.headers["location"].startswith("/signin?next=%2Fworkspaces%2Flab")
        wrong = client.post("/signin", files={"token": (None, "atl_wrong")})
        assert wrong.status_code == 401
        assert "not valid" in wrong.text
        good = client.post(
            "/signin",
            files={"token": (None, studio.tokens["reader"]), "next": (None, "/workspaces/lab")},
            headers={"Origin": studio.url},
        )
        assert good.status_code == 303
        assert good.headers["location"] == "/workspaces/lab"
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
        assert studio.tokens["reader"] not in cookie
        page = client.get("/workspaces/lab")
        assert page.status_code == 200
        assert EXPERIMENT in page.text
        out = client.post(
            "/signout", files={"csrf": (None, csrf_of(page.text))}, headers={"Origin": studio.url}
        )
        assert out.status_code == 303
        client.cookies.set("atelier_session", cookie.split(";")[0].split("=", 1)[1])
        again = client.get("/workspaces/lab")
        assert again.status_code == 303
        assert "expired=1" in again.headers["location"]


def test_a_next_address_of_another_site_is_ignored(studio: Studio) -> None:
    with web.Client(base_url=studio.url, headers=HTML) as client:
        answer = client.post(
            "/signin",
            files={"token": (None, studio.tokens["reader"]), "next": (None, "//evil.example/")},
        )
    assert answer.headers["location"] == "/"


def test_pages_carry_the_security_headers(studio: Studio) -> None:
    with studio.bearer("reader") as client:
        answer = client.get("/workspaces/lab", headers=HTML)
        static = client.get("/static/studio.js")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert "<script>" not in answer.text.replace("<script src=", "")
    assert static.status_code == 200
    assert static.headers["x-frame-options"] == "DENY"


def test_a_bearer_header_opens_pages_for_scripts_and_roles_hold(studio: Studio) -> None:
    with studio.bearer("stranger") as client:
        refused = client.get("/workspaces/lab")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    with web.Client(base_url=studio.url) as client:
        assert client.get("/workspaces/lab").status_code == 401
    with studio.bearer("reader") as client:
        assert client.get("/workspaces/lab/members").status_code == 403
    with studio.bearer("owner") as client:
        assert client.get("/workspaces/lab/members", headers=HTML).status_code == 200


def test_a_reader_sees_no_delete_button_and_a_forged_request_is_refused(
    studio: Studio,
) -> None:
    run_page = f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}"
    with studio.browser_client("reader") as reader:
        html = reader.get(run_page).text
        assert "delete-tag" not in html
        assert "cancel-run" not in html
        forged = reader.post(
            f"{run_page}/tags/delete", files={"key": (None, "model"), "csrf": (None, csrf_of(html))}
        )
    assert forged.status_code == 403
    with studio.browser_client("contributor") as contributor:
        assert "delete-tag" in contributor.get(run_page).text


def test_a_state_change_without_the_session_csrf_token_is_refused(studio: Studio) -> None:
    with studio.database.session() as session:
        runs.set_tags(session, WORKSPACE, studio.rich_run, {"doomed": "x"})
    target = f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}/tags/delete"
    with studio.browser_client("owner") as owner:
        missing = owner.post(target, files={"key": (None, "doomed")})
        wrong = owner.post(target, files={"key": (None, "doomed"), "csrf": (None, "guess")})
        assert missing.status_code == wrong.status_code == 403
        assert "CSRF" in missing.text
        cross = owner.post(
            target,
            files={"key": (None, "doomed")},
            headers={"Origin": "https://evil.example", "X-CSRF-Token": "guess"},
        )
        assert cross.status_code == 403
        page = owner.get(f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}").text
        assert ">doomed<" in page
        done = owner.post(target, files={"key": (None, "doomed"), "csrf": (None, csrf_of(page))})
        assert done.status_code == 303
        assert ">doomed<" not in owner.get(done.headers["location"]).text


def test_names_tags_logs_and_files_render_as_text(studio: Studio) -> None:
    base = f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}"
    with studio.bearer("reader") as client:
        page = client.get(base, headers=HTML).text
        preview = client.get(f"{base}/files", params={"path": "outputs/notes.txt"}).text
        raw = client.get(f"{base}/raw", params={"path": "outputs/notes.txt"})
        image = client.get(f"{base}/raw", params={"path": "outputs/dot.png"})
    assert 'alt="picture" src="/workspaces/lab/runs/' in page
    assert re.search(r"<th>epoch</th><th>note</th><th>score</th>", page)
    for html in (page, preview):
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34;quoted&#34;" in html
        assert "ünïcødé ✓" in html
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"].startswith("attachment")
    assert raw.content.decode() == NASTY
    assert image.headers["content-type"] == "image/png"


def test_the_runs_table_sorts_filters_and_pages_in_the_url(studio: Studio) -> None:
    with studio.bearer("reader") as client:
        by_accuracy = client.get(TABLE, params={"sort": "metrics.accuracy", "desc": 1}).text
        ascending = client.get(TABLE, params={"sort": "metrics.accuracy", "desc": 0}).text
        filtered = client.get(
            TABLE, params={"filter": 'metrics.accuracy > 0.8 and tags.model = "lr"'}
        ).text
        second = client.get(TABLE, params={"size": 25, "page": 2, "sort": "number", "desc": 0})
        chosen = client.get(TABLE, params={"cols": ["params.lr", "tags.model"]}).text
    assert _names(by_accuracy)[:3] == [f"run-{RUNS - 1}", f"run-{RUNS - 2}", f"run-{RUNS - 3}"]
    assert _names(ascending)[:2] == ["run-0", "run-1"]
    assert sorted(_names(filtered)) == ["run-26", "run-28"]
    assert "2 runs match" in filtered
    assert _names(second.text) == [f"run-{i}" for i in range(25, RUNS)]
    assert 'id="prev"' in second.text
    assert "params.</span>lr" in chosen
    assert "metrics.</span>accuracy" not in chosen
    assert "cols=params.lr" in chosen  # the sort links keep the chosen columns


def test_a_filter_syntax_error_points_at_its_column(studio: Studio) -> None:
    with studio.bearer("reader") as client:
        answer = client.get(TABLE, params={"filter": "metrics.accuracy > 0.9 and tags.model = lr"})
    assert answer.status_code == 200
    assert "quote the value, &#34;lr&#34; (column 41)" in answer.text
    assert "\n" + " " * 40 + "^</pre>" in answer.text


def test_unknown_ids_get_a_page_that_links_back(studio: Studio) -> None:
    with studio.bearer("reader") as client:
        run = client.get(f"/workspaces/{WORKSPACE}/runs/no-such-run", headers=HTML)
        experiment = client.get(f"/workspaces/{WORKSPACE}/experiments/nope", headers=HTML)
        nowhere = client.get("/no/such/page", headers=HTML)
        script = client.get(f"/workspaces/{WORKSPACE}/runs/no-such-run")
    for answer in (run, experiment):
        assert answer.status_code == 404
        assert f'href="/workspaces/{WORKSPACE}">Back' in answer.text
    assert nowhere.status_code == 404
    assert 'href="/">Back' in nowhere.text
    assert script.headers["content-type"] == "application/problem+json"


def test_mlflow_style_links_reach_the_run_and_experiment_pages(studio: Studio) -> None:
    with studio.database.session() as session:
        record = runs.get(session, WORKSPACE, studio.rich_run)
    with studio.bearer("reader") as client:
        run = client.get(f"/runs/{studio.rich_run}")
        experiment = client.get(f"/experiments/{record.experiment_id}")
        home = client.get(f"/mlflow/{WORKSPACE}/", headers=HTML)
    assert run.headers["location"] == f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}"
    assert experiment.headers["location"] == f"/workspaces/{WORKSPACE}/experiments/rich"
    assert home.headers["location"] == "/"
    with studio.bearer("stranger") as client:
        assert client.get(f"/runs/{studio.rich_run}").status_code == 404


def test_a_long_series_is_thinned_on_the_server_and_keeps_its_spike(studio: Studio) -> None:
    series = f"/workspaces/{WORKSPACE}/runs/{studio.rich_run}/series"
    with studio.bearer("reader") as client:
        body = client.get(series, params={"name": "loss", "points": 400}).json()
        bad = client.get(series, params={"name": "nope"})
    assert body["count"] == 20_000
    assert len(body["steps"]) <= 400
    assert max(body["values"]) == 50.0
    assert body["steps"][0] == 0
    assert body["steps"][-1] == 19_999
    assert bad.status_code == 404


def test_a_run_with_ten_thousand_metric_names_keeps_a_usable_page(studio: Studio) -> None:
    with studio.database.session() as session:
        record = runs.create(session, WORKSPACE, "wide")
        names = {f"metric_{i:05d}": ([0], [float(i)], [0]) for i in range(10_000)}
        metrics.log_scalars(session, WORKSPACE, record.run_id, names)
    with studio.bearer("reader") as client:
        page = client.get(f"/workspaces/{WORKSPACE}/runs/{record.run_id}", headers=HTML)
        table = client.get(f"/workspaces/{WORKSPACE}/experiments/wide", headers=HTML)
    assert page.status_code == 200
    assert "Showing 500 of 10000 metrics" in page.text
    assert page.text.count('class="chart"') == 6
    assert table.status_code == 200
    assert table.text.count('name="cols"') < 1000


def test_runs_group_by_a_tag_with_aggregate_metrics_and_a_link_to_each_group(
    studio: Studio,
) -> None:
    with studio.bearer("reader") as client:
        grouped = client.get(
            TABLE, params={"group": "tags.model", "cols": ["metrics.accuracy"]}
        ).text
        narrowed = client.get(TABLE, params={"filter": 'tags.model = "tree"'}).text
        bad = client.get(TABLE, params={"group": "metrics.accuracy"}, headers=HTML)
    rows = re.findall(
        r"<tr><td><a href=\"([^\"]+)\">(\w+)</a></td>\s*<td class=\"num\">(\d+)", grouped
    )
    assert [(name, count) for _, name, count in rows] == [("lr", "15"), ("tree", "15")]
    assert "tags.model+%3D+%22tree%22" in rows[1][0]
    # the mean accuracy of the odd runs (i/30 for odd i) is 0.5
    assert re.search(r"tree</a></td>\s*<td class=\"num\">15</td>\s*<td class=\"num\">0.5<", grouped)
    assert "15 runs match" in narrowed
    assert bad.status_code == 400


def test_the_tokens_page_lists_your_tokens_without_secrets(studio: Studio) -> None:
    with studio.browser_client("reader") as client:
        page = client.get("/tokens")
    assert page.status_code == 200
    assert "studio tests" in page.text
    assert studio.tokens["reader"] not in page.text
