"""Three Ray nodes on this machine, started as on a cluster (`ray start --head`, then `ray start --address`
with their own ports and temp dirs): a CPU head holding the API's Serve application, and two workers with one
(fake) GPU each holding a generation replica. Losing a worker node under load loses nothing: every generation
ends completed or refunded, once, and the ledger audit is clean; a training job on a lost node ends failed and
its artist is notified.

The cluster: tests/serving/ray_cluster.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from db.models import Generation, Notification, Style, TrainingRun, User
from platform_api.tokens.audit import audit_database
from tests.helpers import until
from tests.serving.ray_cluster import signed_in, style_with_adapter
from tests.training.conftest import training_images

GENERATIONS = 12


@pytest.mark.timeout(900)
def test_losing_worker_nodes_loses_no_generation_and_fails_the_training_on_them(ray_nodes, db, database_url,
                                                                                   style_adapters, tmp_path):
    nodes = ray_nodes.alive_nodes()
    head = next(node_id for node_id, name in nodes.items() if name == "head")
    generation_nodes = ray_nodes.replica_nodes(GENERATION_APP_NAME)
    assert len(set(generation_nodes)) == 2 and head not in generation_nodes  # one replica on each worker
    assert ray_nodes.replica_nodes(API_APP_NAME) == [head]

    style = style_with_adapter(db, tmp_path, style_adapters[1])

    fan = signed_in(ray_nodes, "fan@example.com")
    ids = []
    for index in range(GENERATIONS):
        response = fan.post("/api/v1/generations", json={"style_id": style.id, "prompt_tags": [f"lake {index}"]})
        assert response.status_code == 202, response.text
        ids.append(response.json()["data"]["id"])
    # A worker goes away while its replica is drawing.
    until(lambda: db.scalar(select(Generation.id).where(Generation.status == "processing").limit(1)), 120,
           "a generation processing", interval=0.2)
    lost = next(node_id for node_id, name in ray_nodes.alive_nodes().items() if name == "worker_a")
    ray_nodes.nodes["worker_a"].kill()

    def all_finished() -> list[dict]:
        views = [fan.get(f"/api/v1/generations/{i}").json()["data"] for i in ids]
        return views if all(view["status"] in ("completed", "failed") for view in views) else []

    views = until(all_finished, 300, "every generation to finish", interval=1)
    completed = [view for view in views if view["status"] == "completed"]
    assert completed, "the surviving replica drew nothing"
    db.rollback()
    balance = db.scalar(select(User.token_balance).where(User.email == "fan@example.com"))
    assert balance == 100 - len(completed)  # the welcome bonus, less one token per completed image only
    assert asyncio.run(audit_database(database_url)) == []
    # Ray marks a node dead only after its missed health checks add up; on a loaded machine the generations
    # can all be retried and finished before that.
    until(lambda: lost not in ray_nodes.alive_nodes(), 120, "the lost node marked dead", interval=1)

    # Training: a job placed on the surviving worker, which then goes away too.
    artist = signed_in(ray_nodes, "painter@example.com")
    artist.post("/api/v1/users/me/upgrade-to-artist",
                data={"artist_name": "Painter", "verified_email": "painter@example.com"},
                files={"signature_image": ("signature.png", training_images(1, size=64)[0], "image/png")},
                ).raise_for_status()
    files = [("images", (f"art-{i}.png", data, "image/png")) for i, data in enumerate(training_images(10))]
    created = artist.post("/api/v1/styles", files=files, data={
        "title": "Harbour", "generation_cost_tokens": "5", "tags": json.dumps([["harbour"]] * 10)})
    assert created.status_code == 202, created.text
    style_id = created.json()["data"]["id"]

    def job_running() -> str | None:
        db.rollback()
        run = db.scalar(select(TrainingRun).where(TrainingRun.style_id == style_id))
        if run is None:
            return None
        job = ray_nodes.get(f"/api/jobs/{run.submission_id}")
        return job["driver_node_id"] if job["status"] == "RUNNING" and job.get("driver_node_id") else None

    driver_node = until(job_running, 180, "the training job running")
    assert ray_nodes.alive_nodes()[driver_node] == "worker_b"
    ray_nodes.nodes["worker_b"].kill()

    def failed() -> bool:
        db.rollback()
        run = db.scalar(select(TrainingRun).where(TrainingRun.style_id == style_id))
        assert run.status != "succeeded", "the job finished on a node that was gone"
        return run.status == "failed" and db.get(Style, style_id).training_status == "failed"

    until(failed, 240, "the training run marked failed", interval=1)
    notification_types = db.scalars(select(Notification.type).join(User, User.id == Notification.recipient_id)
                                    .where(User.email == "painter@example.com"))
    assert "style_training_failed" in set(notification_types)
