"""Styles API without a Ray cluster: creation rules and bad input, browsing, editing, training callbacks.
(Training itself runs on Ray in tests/training/test_style_training_e2e.py.)"""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from PIL import Image
from sqlalchemy import select, update

from db.models import Artist, Notification, Style, Tag, TrainingRun
from tests.factories import make_artist, make_style
from tests.helpers import assert_error, csrf_headers, dev_login
from tests.training.conftest import training_images

IMAGES = training_images(12)


@pytest.fixture
def artist(client):
    dev_login(client, "painter@example.com")
    signature = io.BytesIO()
    Image.new("RGBA", (64, 32), (0, 0, 0, 200)).save(signature, "PNG")
    client.post("/api/v1/users/me/upgrade-to-artist", data={"artist_name": "Painter", "verified_email": "p@x.com"},
                files={"signature_image": ("s.png", signature.getvalue(), "image/png")},
                headers=csrf_headers(client)).raise_for_status()
    return client


def _post(client, *, images=None, tags=None, **fields):
    images = IMAGES[:10] if images is None else images
    if not isinstance(tags, str):  # a string goes in as it is: malformed on purpose
        tags = json.dumps(tags if tags is not None else [["mountain"]] * len(images))
    form = {"title": "Ink Wash", "description": "Misty.", "generation_cost_tokens": "5", "tags": tags} | fields
    files = [("images", (f"a{i}.png", data, "image/png")) for i, data in enumerate(images)]
    return client.post("/api/v1/styles", data=form, files=files, headers=csrf_headers(client))


def _stored(client) -> list[str]:
    return [key for key in asyncio.run(client.app.state.object_store.list("")) if "/styles/" in key]


def test_a_style_is_created_pending_with_its_images_and_tags(artist, db):
    response = _post(artist, tags=[["Mountain", "fog"]] + [["mountain"]] * 9)
    assert response.status_code == 202, response.text
    style = response.json()["data"]
    assert (style["training_status"], style["training_image_count"], style["progress"]) == ("pending", 10, None)
    assert style["tags"] == ["fog", "ink wash", "mountain"]
    assert len(_stored(artist)) == 30  # original, training copy and thumbnail of each image
    assert artist.get(style["thumbnail_url"]).status_code == 200
    assert db.scalars(select(TrainingRun.status)).one() == "pending"
    usage = dict(db.execute(select(Tag.name, Tag.usage_count)).all())
    assert usage == {"fog": 1, "ink wash": 1, "mountain": 1}


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"images": IMAGES[:9]}, "VALIDATION_ERROR", 422),
        ({"tags": [["mountain"]] * 9}, "VALIDATION_ERROR", 422),
        ({"tags": [["산"]] + [["mountain"]] * 9}, "VALIDATION_ERROR", 422),
        ({"tags": [[]] + [["mountain"]] * 9}, "VALIDATION_ERROR", 422),
        ({"tags": [[""]] + [["mountain"]] * 9}, "VALIDATION_ERROR", 422),
        ({"tags": "not json"}, "VALIDATION_ERROR", 422),
        ({"generation_cost_tokens": "0"}, "VALIDATION_ERROR", 422),
        ({"generation_cost_tokens": "10001"}, "VALIDATION_ERROR", 422),
        ({"title": ""}, "VALIDATION_ERROR", 422),
        ({"title": "수채화"}, "VALIDATION_ERROR", 422),
        ({"title": "Ink\x00Wash"}, "VALIDATION_ERROR", 422),
        ({"images": IMAGES[:9] + [b"GIF89a" + b"\0" * 64]}, "INVALID_IMAGE_FORMAT", 422),
    ],
)
def test_bad_input_stores_nothing_and_starts_no_training(artist, db, change, code, status):
    assert_error(_post(artist, **change), status, code)
    assert db.scalars(select(Style)).all() == [] and db.scalars(select(TrainingRun)).all() == []
    assert _stored(artist) == []


def test_a_too_small_image_names_the_image(artist):
    small = io.BytesIO()
    Image.new("RGB", (511, 600), "white").save(small, "PNG")
    error = assert_error(_post(artist, images=IMAGES[:9] + [small.getvalue()]), 422, "IMAGE_TOO_SMALL")
    assert error["details"]["image"] == 9


def test_one_style_per_artist(artist, db):
    assert _post(artist).status_code == 202
    assert_error(_post(artist, title="Second"), 403, "STYLE_LIMIT_REACHED")
    assert len(db.scalars(select(Style)).all()) == 1


def test_only_artists_create_styles(client):
    dev_login(client, "fan@example.com")
    assert_error(_post(client), 403, "ARTIST_ONLY")


def _trained_with_epochs(artist, settings, db) -> tuple[int, str]:
    """A style whose run completed through the job's callback: three epochs, 2 the best, 1 no longer kept."""
    style_id = _post(artist).json()["data"]["id"]
    run_id = db.scalars(select(TrainingRun.id)).one()
    prefix = f"private/styles/{style_id}/runs/{run_id}/"
    outputs = [{"epoch": epoch, "samples": [f"samples/epoch-00{epoch}-0.png"],
                "adapter": None if epoch == 1 else f"epochs/epoch-00{epoch}.safetensors"} for epoch in (1, 2, 3)]
    manifest = {"loss_per_epoch": [0.31, 0.22, 0.2], "heldout_loss_per_epoch": [0.29, 0.25, 0.27],
                "base_heldout_loss": 0.3, "best_epoch": 2, "epoch_outputs": outputs}
    done = {"adapter_key": prefix + "epochs/epoch-002.safetensors", "manifest_key": prefix + "manifest.json",
            "manifest": manifest, "sample_keys": [prefix + "samples/epoch-002-0.png"]}
    assert _internal(artist, settings, f"{run_id}/complete", done).status_code == 200
    return style_id, prefix


def _epochs(client, style_id: int) -> list[tuple]:
    scores = client.get(f"/api/v1/styles/{style_id}").json()["data"]["training_scores"]
    return [(row["epoch"], row["heldout_loss"], row["adapter_kept"], row["in_use"], len(row["sample_image_urls"]))
            for row in scores["epochs"]]


def test_the_artist_sees_each_epochs_scores_and_samples_and_no_one_else_does(client, artist, settings, db):
    style_id, _ = _trained_with_epochs(artist, settings, db)
    scores = artist.get(f"/api/v1/styles/{style_id}").json()["data"]["training_scores"]
    assert (scores["base_heldout_loss"], scores["best_epoch"]) == (0.3, 2)
    assert _epochs(artist, style_id) == [
        (1, 0.29, False, False, 1), (2, 0.25, True, True, 1), (3, 0.27, True, False, 1)]
    second = scores["epochs"][1]
    assert second["training_loss"] == 0.22 and "epoch-002-0.png" in second["sample_image_urls"][0]
    notification = db.scalars(select(Notification)).one()
    assert (notification.type, notification.data["epoch"]) == ("style_training_complete", 2)
    artist.cookies.clear()
    assert artist.get(f"/api/v1/styles/{style_id}").json()["data"]["training_scores"] is None


def test_the_artist_chooses_a_kept_epoch_for_new_generations(artist, settings, db):
    style_id, prefix = _trained_with_epochs(artist, settings, db)
    chosen = artist.patch(f"/api/v1/styles/{style_id}", json={"epoch": 3}, headers=csrf_headers(artist))
    assert chosen.status_code == 200, chosen.text
    assert [row["in_use"] for row in chosen.json()["data"]["training_scores"]["epochs"]] == [False, False, True]
    assert db.scalars(select(Style.adapter_key)).one() == prefix + "epochs/epoch-003.safetensors"

    for epoch in (1, 9, 0):  # dropped, never trained, no epoch at all
        assert_error(artist.patch(f"/api/v1/styles/{style_id}", json={"epoch": epoch}, headers=csrf_headers(artist)),
                     422, "VALIDATION_ERROR")
    db.expire_all()
    assert db.scalars(select(Style.adapter_key)).one() == prefix + "epochs/epoch-003.safetensors"  # unchanged


def test_an_untrained_style_has_no_epoch_to_choose(artist, db):
    style_id = _post(artist).json()["data"]["id"]
    assert_error(artist.patch(f"/api/v1/styles/{style_id}", json={"epoch": 1}, headers=csrf_headers(artist)),
                 409, "CONFLICT")


def test_only_trained_styles_are_public(client, artist, db):
    style_id = _post(artist).json()["data"]["id"]
    assert artist.get(f"/api/v1/styles/{style_id}").status_code == 200  # its artist sees it at once
    artist.cookies.clear()
    assert_error(artist.get(f"/api/v1/styles/{style_id}"), 404, "NOT_FOUND")
    assert artist.get("/api/v1/styles").json()["data"]["results"] == []
    db.execute(update(Style).values(training_status="completed"))
    db.commit()
    listed = artist.get("/api/v1/styles").json()["data"]["results"]
    assert [s["id"] for s in listed] == [style_id] and listed[0]["sample_image_urls"] is None


def test_listing_sorts_and_filters(client, db):
    old = make_style(db, title="Old", training_status="completed", generation_count=9)
    new = make_style(db, title="New", training_status="completed", generation_count=1)
    make_style(db, title="Untrained")
    db.commit()
    recent = client.get("/api/v1/styles").json()["data"]["results"]
    popular = client.get("/api/v1/styles", params={"sort": "popular"}).json()["data"]["results"]
    assert [s["id"] for s in recent] == [new.id, old.id]
    assert [s["id"] for s in popular] == [old.id, new.id]
    assert_error(client.get("/api/v1/styles", params={"sort": "best"}), 422, "VALIDATION_ERROR")
    assert_error(client.get("/api/v1/styles", params={"tag": "a\x00"}), 422, "VALIDATION_ERROR")


def test_listing_only_the_styles_of_artists_i_follow(client, db):
    followed, untrained = make_artist(db), make_artist(db)
    make_style(db, artist=followed, title="Followed", training_status="completed")
    make_style(db, artist=untrained, title="Untrained")
    make_style(db, title="Not followed", training_status="completed")
    db.commit()
    assert_error(client.get("/api/v1/styles", params={"following": "true"}), 401, "UNAUTHORIZED")
    dev_login(client, "fan@example.com")
    assert client.get("/api/v1/styles", params={"following": "true"}).json()["data"]["results"] == []
    for artist in (followed, untrained):
        client.post(f"/api/v1/users/{artist.user_id}/follow", headers=csrf_headers(client)).raise_for_status()
    for sort in ("recent", "popular"):
        listed = client.get("/api/v1/styles", params={"following": "true", "sort": sort}).json()["data"]["results"]
        assert [s["title"] for s in listed] == ["Followed"]
    assert len(client.get("/api/v1/styles").json()["data"]["results"]) == 2  # without the filter: every trained one
    assert_error(client.get("/api/v1/styles", params={"following": "maybe"}), 422, "VALIDATION_ERROR")


def test_the_artist_edits_title_description_and_price(artist, client, db):
    style_id = _post(artist).json()["data"]["id"]
    edited = artist.patch(f"/api/v1/styles/{style_id}", json={"title": "Ink Rain", "generation_cost_tokens": 9},
                          headers=csrf_headers(artist)).json()["data"]
    assert (edited["title"], edited["generation_cost_tokens"]) == ("Ink Rain", 9)
    assert "ink rain" in edited["tags"] and "ink wash" in edited["tags"]
    assert db.scalars(select(Style.trigger_tag)).one() == "ink wash"  # what the LoRA was trained with
    for body in ({"generation_cost_tokens": 0}, {"training_images": []}, {"title": ""}):
        assert_error(artist.patch(f"/api/v1/styles/{style_id}", json=body, headers=csrf_headers(artist)),
                     422, "VALIDATION_ERROR")


def test_another_user_cannot_edit_retrain_or_cancel(artist, db):
    style = make_style(db, title="Theirs", training_status="failed")
    db.commit()
    assert_error(artist.patch(f"/api/v1/styles/{style.id}", json={"title": "Mine"}, headers=csrf_headers(artist)),
                 403, "FORBIDDEN")
    assert_error(artist.post(f"/api/v1/styles/{style.id}/retrain", headers=csrf_headers(artist)), 403, "FORBIDDEN")
    assert_error(artist.post(f"/api/v1/styles/{style.id}/training/cancel", headers=csrf_headers(artist)),
                 403, "FORBIDDEN")


def test_a_failed_style_can_be_retrained(artist, db):
    style_id = _post(artist).json()["data"]["id"]
    assert_error(artist.post(f"/api/v1/styles/{style_id}/retrain", headers=csrf_headers(artist)), 409, "CONFLICT")
    db.execute(update(Style).values(training_status="failed"))
    db.execute(update(TrainingRun).values(status="failed"))
    db.commit()
    again = artist.post(f"/api/v1/styles/{style_id}/retrain", headers=csrf_headers(artist))
    assert again.status_code == 202 and again.json()["data"]["training_status"] == "pending"
    assert db.scalars(select(TrainingRun.attempt).order_by(TrainingRun.id)).all() == [1, 2]


def test_only_an_unfinished_run_can_be_cancelled_and_the_style_then_retrains(artist, settings, db):
    style_id = _post(artist).json()["data"]["id"]
    run_id = db.scalars(select(TrainingRun.id)).one()
    cancelled = artist.post(f"/api/v1/styles/{style_id}/training/cancel", headers=csrf_headers(artist))
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["training_status"] == "failed"
    assert cancelled.json()["data"]["training_error"] == "cancelled by the artist"
    assert_error(artist.post(f"/api/v1/styles/{style_id}/training/cancel", headers=csrf_headers(artist)),
                 409, "CONFLICT")
    # The job, should Ray's stop not reach it, is told on its next report; its late outcome changes nothing.
    assert_error(_internal(artist, settings, f"{run_id}/progress", PROGRESS), 409, "CONFLICT")
    prefix = f"private/styles/{style_id}/runs/{run_id}/"
    late = {"adapter_key": prefix + "a.safetensors", "manifest_key": prefix + "m.json", "manifest": {},
            "sample_keys": []}
    assert _internal(artist, settings, f"{run_id}/complete", late).status_code == 200
    assert artist.get(f"/api/v1/styles/{style_id}").json()["data"]["training_status"] == "failed"
    assert artist.post(f"/api/v1/styles/{style_id}/retrain", headers=csrf_headers(artist)).status_code == 202
    assert db.scalars(select(TrainingRun.status).order_by(TrainingRun.id)).all() == ["cancelled", "pending"]


def _internal(client, settings, path: str, body: dict, token: str | None = None, source: str = "training-job"):
    headers = {"Authorization": f"Bearer {token or settings.auth.internal_api_token}", "X-Request-Source": source}
    return client.post(f"/api/v1/internal/training-runs/{path}", json=body, headers=headers)


PROGRESS = {"current_epoch": 3, "total_epochs": 10, "progress_percent": 30, "estimated_seconds": 70}


def test_training_callbacks_move_the_style_forward_only(artist, settings, db):
    style_id = _post(artist).json()["data"]["id"]
    run_id = db.scalars(select(TrainingRun.id)).one()
    assert _internal(artist, settings, f"{run_id}/progress", PROGRESS).status_code == 200
    progress = artist.get(f"/api/v1/styles/{style_id}").json()["data"]["progress"]
    assert progress | {"last_updated": None} == PROGRESS | {"last_updated": None} and progress["last_updated"]

    prefix = f"private/styles/{style_id}/runs/{run_id}/"
    done = {"adapter_key": prefix + "a.safetensors", "manifest_key": prefix + "manifest.json", "manifest": {},
            "sample_keys": []}
    assert _internal(artist, settings, f"{run_id}/complete", done).status_code == 200
    assert _internal(artist, settings, f"{run_id}/complete", done).status_code == 200  # a retried callback
    assert _internal(artist, settings, f"{run_id}/fail", {"reason": "late"}).status_code == 200
    assert _internal(artist, settings, f"{run_id}/progress", PROGRESS).status_code == 200
    style = artist.get(f"/api/v1/styles/{style_id}").json()["data"]
    assert (style["training_status"], style["progress"]) == ("completed", None)
    artist_id = db.scalars(select(Artist.user_id)).one()
    assert db.scalars(select(Notification.type).where(Notification.recipient_id == artist_id)).all() == [
        "style_training_complete"]


def test_a_completion_must_stay_in_its_runs_storage(artist, settings, db):
    _post(artist)
    run_id = db.scalars(select(TrainingRun.id)).one()
    stray = {"adapter_key": "public/elsewhere.safetensors", "manifest_key": "x", "manifest": {}, "sample_keys": []}
    assert_error(_internal(artist, settings, f"{run_id}/complete", stray), 422, "VALIDATION_ERROR")
    prefix = f"private/styles/{db.scalars(select(Style.id)).one()}/runs/{run_id}/"
    scores = {"loss_per_epoch": [0.3], "heldout_loss_per_epoch": [0.2], "base_heldout_loss": 0.3, "best_epoch": 1}
    for outputs in ([{"epoch": 1, "samples": [], "adapter": "../../0/a.safetensors"}],  # out of the run's prefix
                    [{"epoch": 1, "samples": ["./x.png"], "adapter": None}],  # not a key of ours
                    [{"epoch": 1, "samples": "x.png"}]):  # not what a job writes
        body = {"adapter_key": prefix + "a.safetensors", "manifest_key": prefix + "m.json", "sample_keys": [],
                "manifest": scores | {"epoch_outputs": outputs}}
        assert_error(_internal(artist, settings, f"{run_id}/complete", body), 422, "VALIDATION_ERROR")
    assert db.scalars(select(TrainingRun.status)).one() == "pending"


def test_internal_endpoints_refuse_anyone_else(artist, settings, db):
    _post(artist)
    run_id = db.scalars(select(TrainingRun.id)).one()
    assert_error(_internal(artist, settings, f"{run_id}/progress", PROGRESS, token="wrong"), 401, "UNAUTHORIZED")
    assert_error(_internal(artist, settings, f"{run_id}/progress", PROGRESS, source="browser"), 403, "FORBIDDEN")
    anonymous = artist.post(f"/api/v1/internal/training-runs/{run_id}/progress", json=PROGRESS,
                            headers=csrf_headers(artist))
    assert_error(anonymous, 401, "UNAUTHORIZED")
    assert_error(_internal(artist, settings, "999999/progress", PROGRESS), 404, "NOT_FOUND")
    assert db.scalars(select(TrainingRun.status)).one() == "pending"
