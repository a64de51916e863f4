"""The Studio's AutoML run page over HTTP: the leaderboard of iterations, best first by
the primary metric (lower is better for an error), the best marked, linked from the
parent run's page; seeded as ``atelier.sdk.automl`` records its runs."""

from __future__ import annotations

import re

from atelier.core.status import RunStatus
from atelier.services import metrics, run_transitions, runs
from tests.helpers.studio_data import NASTY
from tests.studio.conftest import WORKSPACE, Studio

HTML = {"Accept": "text/html"}
WS = f"/workspaces/{WORKSPACE}"


def test_an_automl_run_page_shows_the_leaderboard_best_first(studio: Studio) -> None:
    metric = "normalized_root_mean_squared_error"  # lower is better
    settings = {"task": "regression", "primary_metric": metric}
    iterations = [
        ("LightGBM", 0.30, RunStatus.COMPLETED),
        ("ElasticNet", 0.12, RunStatus.COMPLETED),
        (NASTY, None, RunStatus.FAILED),
        ("VotingEnsemble", 0.10, RunStatus.COMPLETED),
    ]
    with studio.database.session() as session:
        parent = runs.create(
            session, WORKSPACE, "automl-exp", run_type="automl", definition={"automl": settings}
        )
        ids = []
        for number, (algorithm, score, status) in enumerate(iterations):
            child = runs.create(
                session,
                WORKSPACE,
                "automl-exp",
                run_id=f"{parent.run_id}_{number}",
                parent_run_id=parent.run_id,
                run_type="automl",
                properties={"iteration": str(number), "run_algorithm": algorithm},
            )
            if score is not None:
                metrics.log_scalars(session, WORKSPACE, child.run_id, {metric: ([0], [score], [0])})
            run_transitions.transition(session, WORKSPACE, child.run_id, status)
            ids.append(child.run_id)
    with studio.bearer("reader") as client:
        page = client.get(f"{WS}/automl/{parent.run_id}", headers=HTML)
        run_page = client.get(f"{WS}/runs/{parent.run_id}", headers=HTML).text
        iteration_page = client.get(f"{WS}/runs/{ids[0]}", headers=HTML).text
        not_automl = client.get(f"{WS}/automl/{ids[0]}", headers=HTML)
    assert page.status_code == 200, page.text
    html = page.text
    order = re.findall(r'<tr data-run="([^"]+)"', html)
    assert order == [ids[3], ids[1], ids[0], ids[2]]
    best = re.findall(r'<tr data-run="([^"]+)" class="best">', html)
    assert best == [ids[3]] and html.count('id="best-iteration"') == 1
    assert "VotingEnsemble" in html and "0.1<" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "cancel-run" not in html  # a Reader gets no cancel button
    assert f'href="{WS}/automl/{parent.run_id}" id="automl-link"' in run_page
    assert 'id="automl-link"' not in iteration_page
    assert not_automl.status_code == 404 and "not an AutoML parent run" in not_automl.text
