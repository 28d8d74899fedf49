"""Profiles, becoming an artist and leaving (spec §6.2.1, §10.1)."""

from __future__ import annotations

import asyncio
import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from db.models import Artist, Follow, Generation, Style, Transaction, User
from tests.factories import make_style, make_user
from tests.helpers import assert_error, csrf_headers, dev_login


def _png(size=(64, 64), mode="RGBA", color=(200, 30, 30, 128)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "PNG")
    return buffer.getvalue()


def _store_keys(client: TestClient) -> list[str]:
    return asyncio.run(client.app.state.object_store.list(""))


def _upgrade(client: TestClient, *, image: bytes | None = None, **fields):
    data = {"artist_name": "Mina Kim", "verified_email": "studio@example.com"} | fields
    files = {"signature_image": ("sig.png", image if image is not None else _png(), "image/png")}
    return client.post("/api/v1/users/me/upgrade-to-artist", data=data, files=files, headers=csrf_headers(client))


class TestPublicProfile:
    def test_profile_with_stats_and_no_private_fields(self, client, db):
        fan = make_user(db)
        style = make_style(db, title="Watercolor Dreams")
        artist_user = db.get(User, db.get(Artist, style.artist_id).user_id)
        db.add(Follow(follower_id=fan.id, following_id=artist_user.id))
        db.get(Artist, style.artist_id).follower_count = 1
        for public in (True, True, False):
            db.add(Generation(user_id=fan.id, style_id=style.id, status="completed", is_public=public,
                              prompt_tags=["cat"], prompt="cat", aspect_ratio="1:1", width=512, height=512,
                              seed=1, cost_tokens=10))
        db.commit()

        fan_view = client.get(f"/api/v1/users/{fan.id}").json()["data"]
        assert fan_view["stats"] == {"public_generations": 2, "followers": 0, "following": 1, "style": None}
        assert "email" not in fan_view and "token_balance" not in fan_view
        artist_view = client.get(f"/api/v1/users/{artist_user.id}").json()["data"]
        assert artist_view["artist"]["follower_count"] == 1
        assert artist_view["stats"]["style"]["title"] == "Watercolor Dreams"

    def test_unknown_and_deactivated_users_are_404(self, client, db):
        gone = make_user(db, is_active=False)
        db.commit()
        assert_error(client.get(f"/api/v1/users/{gone.id}"), 404, "NOT_FOUND")
        assert_error(client.get("/api/v1/users/987654"), 404, "NOT_FOUND")
        assert_error(client.get("/api/v1/users/not-a-number"), 422, "VALIDATION_ERROR")


class TestEditProfile:
    def test_username_bio_and_language(self, client):
        dev_login(client, "a@example.com")
        response = client.patch("/api/v1/users/me", json={"username": "new_name", "bio": "I draw.",
                                                          "preferred_language": "ko"}, headers=csrf_headers(client))
        me = response.json()["data"]
        assert (me["username"], me["bio"], me["preferred_language"]) == ("new_name", "I draw.", "ko")
        cleared = client.patch("/api/v1/users/me", json={"bio": None}, headers=csrf_headers(client)).json()["data"]
        assert cleared["bio"] is None and cleared["username"] == "new_name"

    def test_a_taken_username_is_409_and_changes_nothing(self, client, db):
        make_user(db, username="taken_name")
        db.commit()
        dev_login(client, "a@example.com", "mine_name")
        response = client.patch("/api/v1/users/me", json={"username": "taken_name", "bio": "x"},
                                headers=csrf_headers(client))
        assert_error(response, 409, "USERNAME_TAKEN")
        me = client.get("/api/v1/auth/me").json()["data"]
        assert (me["username"], me["bio"]) == ("mine_name", None)

    @pytest.mark.parametrize(
        "body",
        [{"username": "ab"}, {"username": "Has Space"}, {"bio": "x" * 501}, {"preferred_language": "fr"},
         {"token_balance": 1_000_000}, {"role": "admin"},
         {"bio": "NUL \x00 was a 500 from PostgreSQL"}],
    )
    def test_bad_input_is_422(self, client, body):
        dev_login(client, "a@example.com")
        assert_error(client.patch("/api/v1/users/me", json=body, headers=csrf_headers(client)), 422,
                     "VALIDATION_ERROR")
        me = client.get("/api/v1/auth/me").json()["data"]
        assert me["token_balance"] == 100 and me["role"] == "user"

    def test_profile_image_is_validated_stored_and_replaced(self, client):
        dev_login(client, "a@example.com")
        upload = client.put("/api/v1/users/me/profile-image", files={"image": ("me.png", _png(), "image/png")},
                            headers=csrf_headers(client))
        first_url = upload.json()["data"]["profile_image_url"]
        assert first_url
        assert len(_store_keys(client)) == 1
        client.put("/api/v1/users/me/profile-image", files={"image": ("me2.png", _png(color=(0, 0, 0, 255)), "image/png")},
                   headers=csrf_headers(client))
        assert len(_store_keys(client)) == 1  # the replaced image is gone
        removed = client.delete("/api/v1/users/me/profile-image", headers=csrf_headers(client)).json()["data"]
        assert removed["profile_image_url"] is None and _store_keys(client) == []

    def test_a_non_image_profile_picture_is_refused(self, client):
        dev_login(client, "a@example.com")
        response = client.put("/api/v1/users/me/profile-image",
                              files={"image": ("me.png", b"<script>alert(1)</script>", "image/png")},
                              headers=csrf_headers(client))
        assert_error(response, 422, "INVALID_IMAGE_FORMAT")
        assert _store_keys(client) == []


class TestBecomeArtist:
    def test_upgrade_stores_the_signature_privately_and_grants_the_role(self, client, db):
        dev_login(client, "a@example.com")
        me = _upgrade(client).json()["data"]
        assert me["role"] == "artist"
        assert me["artist"] == {"artist_name": "Mina Kim", "follower_count": 0, "verified_email": "studio@example.com",
                                "earned_token_balance": 0, "has_signature_image": True}
        artist = db.scalars(select(Artist)).one()
        stored = asyncio.run(client.app.state.object_store.get(artist.signature_image_key))
        assert Image.open(io.BytesIO(stored)).mode == "RGBA"  # alpha kept for compositing

    def test_twice_is_409(self, client):
        dev_login(client, "a@example.com")
        _upgrade(client)
        assert_error(_upgrade(client), 409, "ALREADY_ARTIST")
        assert len(_store_keys(client)) == 1

    @pytest.mark.parametrize(
        ("fields", "image", "code"),
        [
            ({"artist_name": ""}, None, "VALIDATION_ERROR"),
            ({"verified_email": "nope"}, None, "VALIDATION_ERROR"),
            ({}, b"GIF89a" + b"\0" * 100, "INVALID_IMAGE_FORMAT"),
            ({}, b"", "INVALID_IMAGE_FORMAT"),
        ],
    )
    def test_bad_input_changes_nothing(self, client, db, fields, image, code):
        dev_login(client, "a@example.com")
        assert_error(_upgrade(client, image=image, **fields), 422, code)
        assert db.scalars(select(Artist)).all() == []
        assert _store_keys(client) == []

    def test_anonymous_is_401(self, client):
        assert_error(_upgrade(client), 401, "UNAUTHORIZED")


class TestLeave:
    def _leave(self, client):
        return client.delete("/api/v1/users/me", headers=csrf_headers(client)).json()["data"]["outcome"]

    def test_a_plain_user_is_deleted_with_their_content(self, client, db):
        me = dev_login(client, "a@example.com")
        style = make_style(db)
        db.add(Generation(user_id=me["id"], style_id=style.id, prompt_tags=["x"], prompt="x", aspect_ratio="1:1",
                          width=512, height=512, seed=1, cost_tokens=10))
        db.commit()
        assert self._leave(client) == "deleted"
        db.expire_all()
        assert db.get(User, me["id"]) is None
        assert db.scalars(select(Generation)).all() == []
        assert db.scalars(select(Transaction.receiver_id)).all() == [None]  # the ledger row stays
        assert_error(client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")

    def test_an_artist_whose_style_was_never_used_is_deleted(self, client, db):
        dev_login(client, "a@example.com")
        _upgrade(client)
        artist = db.scalars(select(Artist)).one()
        make_style(db, artist=artist)
        db.commit()
        assert self._leave(client) == "deleted"
        db.expire_all()
        assert db.scalars(select(Style)).all() == []
        assert _store_keys(client) == []

    def test_an_artist_whose_style_has_generations_is_deactivated(self, client, db):
        me = dev_login(client, "a@example.com")
        _upgrade(client)
        style = make_style(db, artist=db.scalars(select(Artist)).one())
        db.add(Generation(user_id=make_user(db).id, style_id=style.id, prompt_tags=["x"], prompt="x",
                          aspect_ratio="1:1", width=512, height=512, seed=1, cost_tokens=10))
        db.commit()
        assert self._leave(client) == "deactivated"
        db.expire_all()
        user = db.get(User, me["id"])
        assert user.is_active is False and user.deactivated_at is not None
        assert db.scalars(select(Style)).one().id == style.id
        assert_error(client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
        assert_error(client.get(f"/api/v1/users/{me['id']}"), 404, "NOT_FOUND")
        response = client.post("/api/v1/auth/dev-login", json={"email": "a@example.com"})
        assert_error(response, 403, "ACCOUNT_DEACTIVATED")


class TestMedia:
    def test_public_images_are_served_and_private_ones_need_a_valid_signature(self, client, db):
        dev_login(client, "a@example.com")
        avatar_url = client.put("/api/v1/users/me/profile-image", files={"image": ("me.png", _png(), "image/png")},
                                headers=csrf_headers(client)).json()["data"]["profile_image_url"]
        served = client.get(avatar_url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(served.content)).size == (64, 64)

        _upgrade(client)
        key = db.scalars(select(Artist.signature_image_key)).one()
        signed = client.app.state.object_store.url(key)
        assert client.get(signed).status_code == 200
        assert_error(client.get(signed.split("?")[0]), 404, "NOT_FOUND")  # unsigned
        assert_error(client.get(signed.replace("signature=", "signature=x")), 404, "NOT_FOUND")  # tampered
        assert_error(client.get("/media/public/../private/x.png"), 404, "NOT_FOUND")
        assert_error(client.get("/media/public/nothing-here.png"), 404, "NOT_FOUND")
