"""Likes, comments, follows and the feeds (spec §6.7, §2.1.8), against PostgreSQL, with every count checked
against a recount of its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Artist, Comment, Follow, Generation, Notification, Style, User
from platform_api.community.audit import counter_drift
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import another_client, assert_error, csrf_headers, dev_login


@pytest.fixture
def drift(db):
    def check() -> list[str]:
        db.rollback()
        return counter_drift(db.connection())

    return check


@pytest.fixture
def artist_user(db) -> User:
    """An artist with a trained style."""
    user = make_user(db, username="mina_draws")
    artist = make_artist(db, user=user, artist_name="Mina Kim")
    make_style(db, artist=artist, title="Watercolor Dreams", training_status="completed")
    db.commit()
    return user


def _style_of(db, artist_user: User) -> tuple[Artist, Style]:
    artist = db.scalar(select(Artist).where(Artist.user_id == artist_user.id))
    return artist, db.scalar(select(Style).where(Style.artist_id == artist.id))


def _image(db, owner_id: int, **values) -> Generation:
    generation = make_generation(db, user=db.get(User, owner_id), **values)
    db.commit()
    return generation


def _like(client, generation_id: int):
    return client.post(f"/api/v1/generations/{generation_id}/like", headers=csrf_headers(client))


def _unlike(client, generation_id: int):
    return client.delete(f"/api/v1/generations/{generation_id}/like", headers=csrf_headers(client))


def _comment(client, generation_id: int, content: str, parent_id: int | None = None):
    body = {"content": content} | ({"parent_id": parent_id} if parent_id else {})
    return client.post(f"/api/v1/generations/{generation_id}/comments", json=body, headers=csrf_headers(client))


class TestLikes:
    def test_liking_is_idempotent_and_counted(self, client, db, drift):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        fan, _ = another_client(client, "fan@example.com")

        for _ in range(2):
            response = _like(fan, image.id)
            assert response.status_code == 200, response.text
            assert response.json()["data"] == {"generation_id": image.id, "liked": True, "like_count": 1}
        assert fan.get("/api/v1/feed").json()["data"]["results"][0]["liked_by_me"] is True
        assert client.get("/api/v1/feed").json()["data"]["results"][0]["liked_by_me"] is False
        for _ in range(2):
            assert _unlike(fan, image.id).json()["data"] == {"generation_id": image.id, "liked": False, "like_count": 0}
        assert drift() == []

    def test_an_image_says_whether_its_reader_likes_it(self, client, db, artist_user):
        image = _image(db, artist_user.id)

        def liked():
            return client.get(f"/api/v1/generations/{image.id}").json()["data"]["liked_by_me"]

        assert liked() is None  # anonymous
        dev_login(client, "fan@example.com")
        assert liked() is False
        assert _like(client, image.id).status_code in (200, 201)
        assert liked() is True

    def test_only_public_finished_images_or_your_own(self, client, db):
        owner = dev_login(client, "owner@example.com")
        private = _image(db, owner["id"], is_public=False)
        queued = _image(db, owner["id"], status="queued")
        fan, _ = another_client(client, "fan@example.com")

        for generation in (private, queued):
            assert_error(_like(fan, generation.id), 404, "NOT_FOUND")
            assert_error(_unlike(fan, generation.id), 404, "NOT_FOUND")
        assert _like(client, private.id).json()["data"]["like_count"] == 1
        assert db.scalar(select(func.count()).select_from(Notification)) == 0  # not for one's own like

    def test_bad_requests(self, client, db):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        assert_error(client.post(f"/api/v1/generations/{image.id}/like"), 403, "CSRF_FAILED")
        assert_error(_like(client, 987654), 404, "NOT_FOUND")
        assert_error(_like(client, 2**63), 422, "VALIDATION_ERROR")
        assert_error(client.post("/api/v1/generations/abc/like", headers=csrf_headers(client)), 422,
                     "VALIDATION_ERROR")
        client.post("/api/v1/auth/logout", headers=csrf_headers(client))
        assert_error(_like(client, image.id), 401, "UNAUTHORIZED")


class TestComments:
    def test_comments_and_one_level_of_replies(self, client, db, drift):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        fan, fan_user = another_client(client, "fan@example.com")

        first = _comment(fan, image.id, "Lovely light")
        assert first.status_code == 201, first.text
        first = first.json()["data"]
        assert first["author"]["id"] == fan_user["id"] and first["replies"] == [] and first["is_edited"] is False
        reply = _comment(client, image.id, "Thank you!", first["id"]).json()["data"]
        assert reply["parent_id"] == first["id"] and reply["replies"] is None
        assert_error(_comment(fan, image.id, "deeper", reply["id"]), 422, "REPLY_DEPTH_EXCEEDED")
        second = _comment(client, image.id, "Made with Watercolor Dreams").json()["data"]

        listing = fan.get(f"/api/v1/generations/{image.id}/comments").json()["data"]
        assert [c["id"] for c in listing["results"]] == [second["id"], first["id"]]  # newest first
        assert [r["content"] for r in listing["results"][1]["replies"]] == ["Thank you!"]
        assert db.scalar(select(Generation.comment_count).where(Generation.id == image.id)) == 3
        assert drift() == []

    def test_a_reply_needs_a_live_parent_on_the_same_image(self, client, db):
        owner = dev_login(client, "owner@example.com")
        image, other_image = _image(db, owner["id"]), _image(db, owner["id"])
        parent = _comment(client, image.id, "parent").json()["data"]
        assert_error(_comment(client, other_image.id, "elsewhere", parent["id"]), 404, "NOT_FOUND")
        assert_error(_comment(client, image.id, "to nothing", 987654), 404, "NOT_FOUND")
        client.delete(f"/api/v1/comments/{parent['id']}", headers=csrf_headers(client))
        assert_error(_comment(client, image.id, "too late", parent["id"]), 404, "NOT_FOUND")

    @pytest.mark.parametrize(
        "body",
        [
            {"content": ""},
            {"content": "   "},
            {"content": "x" * 1001},
            {"content": "nul \x00 inside"},
            {"content": "ok", "parent_id": 0},
            {"content": "ok", "parent_id": 2**63},
            {"content": "ok", "html": True},
            {},
        ],
    )
    def test_bad_content_is_422_and_changes_nothing(self, client, db, body):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        response = client.post(f"/api/v1/generations/{image.id}/comments", json=body, headers=csrf_headers(client))
        assert_error(response, 422, "VALIDATION_ERROR")
        assert db.scalar(select(func.count()).select_from(Comment)) == 0

    def test_text_is_kept_exactly_and_served_only_as_json(self, client, db):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        markup = '<script>alert("x")</script><img src=x onerror=alert(1)>\nline two'
        assert _comment(client, image.id, markup).json()["data"]["content"] == markup
        assert _comment(client, image.id, "가" * 1000).status_code == 201  # the limit counts characters
        response = client.get(f"/api/v1/generations/{image.id}/comments")
        assert response.headers["content-type"] == "application/json"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.json()["data"]["results"][1]["content"] == markup

    def test_only_the_author_edits_or_deletes(self, client, db, drift):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        fan, _ = another_client(client, "fan@example.com")
        comment = _comment(fan, image.id, "first draft").json()["data"]

        edited = fan.patch(f"/api/v1/comments/{comment['id']}", json={"content": "final"}, headers=csrf_headers(fan))
        assert edited.status_code == 200, edited.text
        assert edited.json()["data"]["content"] == "final" and edited.json()["data"]["is_edited"] is True
        # Not even the image's owner may change or remove someone else's words.
        assert_error(client.patch(f"/api/v1/comments/{comment['id']}", json={"content": "mine now"},
                                  headers=csrf_headers(client)), 403, "FORBIDDEN")
        assert_error(client.delete(f"/api/v1/comments/{comment['id']}", headers=csrf_headers(client)), 403,
                     "FORBIDDEN")
        assert_error(fan.patch("/api/v1/comments/987654", json={"content": "x"}, headers=csrf_headers(fan)), 404,
                     "NOT_FOUND")
        assert_error(fan.patch(f"/api/v1/comments/{comment['id']}", json={"content": ""}, headers=csrf_headers(fan)),
                     422, "VALIDATION_ERROR")
        assert db.scalar(select(Comment.content)) == "final"
        assert drift() == []

    def test_deleting_keeps_replies_under_a_placeholder(self, client, db, drift):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        fan, _ = another_client(client, "fan@example.com")
        parent = _comment(fan, image.id, "parent").json()["data"]
        replies = [_comment(client, image.id, f"reply {n}", parent["id"]).json()["data"] for n in range(2)]
        alone = _comment(fan, image.id, "alone").json()["data"]

        for comment in (parent, alone):
            response = fan.delete(f"/api/v1/comments/{comment['id']}", headers=csrf_headers(fan))
            assert response.json()["data"] == {"id": comment["id"], "deleted": True}
        listing = client.get(f"/api/v1/generations/{image.id}/comments").json()["data"]["results"]
        assert len(listing) == 1
        assert listing[0] | {"replies": None, "created_at": None, "updated_at": None} == {
            "id": parent["id"], "generation_id": image.id, "parent_id": None, "content": None, "author": None,
            "is_deleted": True, "is_edited": False, "replies": None, "created_at": None, "updated_at": None,
        }
        assert [r["content"] for r in listing[0]["replies"]] == ["reply 0", "reply 1"]
        assert_error(fan.delete(f"/api/v1/comments/{parent['id']}", headers=csrf_headers(fan)), 404, "NOT_FOUND")
        assert_error(fan.patch(f"/api/v1/comments/{parent['id']}", json={"content": "back"},
                               headers=csrf_headers(fan)), 404, "NOT_FOUND")
        assert drift() == []

        for reply in replies:
            client.delete(f"/api/v1/comments/{reply['id']}", headers=csrf_headers(client))
        assert client.get(f"/api/v1/generations/{image.id}/comments").json()["data"]["results"] == []
        assert db.scalar(select(func.count()).select_from(Comment)) == 0  # the placeholder went with its last reply
        assert drift() == []

    def test_pages_and_cursor(self, client, db):
        owner = dev_login(client, "owner@example.com")
        image = _image(db, owner["id"])
        for n in range(3):
            _comment(client, image.id, f"comment {n}")
        first = client.get(f"/api/v1/generations/{image.id}/comments?limit=2").json()["data"]
        assert [c["content"] for c in first["results"]] == ["comment 2", "comment 1"] and first["has_more"]
        rest = client.get(f"/api/v1/generations/{image.id}/comments?limit=2&cursor={first['next_cursor']}")
        assert [c["content"] for c in rest.json()["data"]["results"]] == ["comment 0"]
        assert_error(client.get(f"/api/v1/generations/{image.id}/comments?cursor=forged"), 400, "INVALID_CURSOR")
        assert_error(client.get(f"/api/v1/generations/{image.id}/comments?limit=101"), 422, "VALIDATION_ERROR")

    def test_anonymous_readers_see_public_comments_but_cannot_write(self, client, db):
        owner = make_user(db)
        image = _image(db, owner.id)
        assert client.get(f"/api/v1/generations/{image.id}/comments").status_code == 200
        assert_error(_comment(client, image.id, "hello"), 401, "UNAUTHORIZED")


class TestFollows:
    def test_follow_and_unfollow_an_artist(self, client, db, artist_user, drift):
        me = dev_login(client, "fan@example.com")
        url = f"/api/v1/users/{artist_user.id}/follow"

        response = client.post(url, headers=csrf_headers(client))
        assert response.status_code == 201, response.text
        assert response.json()["data"] == {"user_id": artist_user.id, "following": True, "follower_count": 1}
        assert_error(client.post(url, headers=csrf_headers(client)), 409, "DUPLICATE_FOLLOW")
        profile = client.get(f"/api/v1/users/{me['id']}").json()["data"]
        assert profile["stats"]["following"] == 1
        assert client.get(f"/api/v1/users/{artist_user.id}").json()["data"]["stats"]["followers"] == 1
        assert drift() == []

        response = client.delete(url, headers=csrf_headers(client))
        assert response.json()["data"] == {"user_id": artist_user.id, "following": False, "follower_count": 0}
        assert_error(client.delete(url, headers=csrf_headers(client)), 404, "NOT_FOUND")
        assert drift() == []

    def test_readers_see_whether_they_follow_the_artist(self, client, db, artist_user):
        _, style = _style_of(db, artist_user)

        def followed() -> list:
            profile = client.get(f"/api/v1/users/{artist_user.id}").json()["data"]
            detail = client.get(f"/api/v1/styles/{style.id}").json()["data"]
            [listed] = client.get("/api/v1/styles").json()["data"]["results"]
            return [profile["followed_by_me"], detail["artist"]["followed_by_me"], listed["artist"]["followed_by_me"]]

        assert followed() == [None, None, None]  # anonymous
        dev_login(client, "fan@example.com")
        assert followed() == [False, False, False]
        client.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(client))
        assert followed() == [True, True, True]

    def test_who_cannot_be_followed(self, client, db):
        me = dev_login(client, "fan@example.com")
        plain = make_user(db)
        gone = make_artist(db, user=make_user(db, is_active=False))
        db.commit()
        assert_error(client.post(f"/api/v1/users/{me['id']}/follow", headers=csrf_headers(client)), 400,
                     "SELF_FOLLOW_NOT_ALLOWED")
        assert_error(client.post(f"/api/v1/users/{plain.id}/follow", headers=csrf_headers(client)), 422,
                     "NOT_AN_ARTIST")
        assert_error(client.post(f"/api/v1/users/{gone.user_id}/follow", headers=csrf_headers(client)), 404,
                     "NOT_FOUND")
        assert_error(client.post("/api/v1/users/987654/follow", headers=csrf_headers(client)), 404, "NOT_FOUND")
        assert_error(client.post("/api/v1/users/me/follow", headers=csrf_headers(client)), 422, "VALIDATION_ERROR")
        assert db.scalar(select(func.count()).select_from(Follow)) == 0

    def test_self_follow_is_refused_for_artists_too(self, client, db):
        me = dev_login(client, "artist@example.com")
        make_artist(db, user=db.get(User, me["id"]))
        db.commit()
        assert_error(client.post(f"/api/v1/users/{me['id']}/follow", headers=csrf_headers(client)), 400,
                     "SELF_FOLLOW_NOT_ALLOWED")

    def test_my_following_list_pages_newest_first(self, client, db):
        dev_login(client, "fan@example.com")
        artists = [make_artist(db, artist_name=f"Painter {n}") for n in range(3)]
        db.commit()
        for artist in artists:
            client.post(f"/api/v1/users/{artist.user_id}/follow", headers=csrf_headers(client))

        first = client.get("/api/v1/users/me/following?limit=2").json()["data"]
        assert [a["artist_name"] for a in first["results"]] == ["Painter 2", "Painter 1"]
        assert set(first["results"][0]) == {"id", "username", "profile_image_url", "artist_name", "follower_count",
                                            "followed_at"}
        rest = client.get(f"/api/v1/users/me/following?limit=2&cursor={first['next_cursor']}").json()["data"]
        assert [a["artist_name"] for a in rest["results"]] == ["Painter 0"] and rest["has_more"] is False

    def test_anonymous_is_401(self, client, artist_user):
        assert_error(client.get("/api/v1/users/me/following"), 401, "UNAUTHORIZED")
        assert_error(client.post(f"/api/v1/users/{artist_user.id}/follow"), 401, "UNAUTHORIZED")


class TestFeeds:
    def test_the_public_feed_is_every_public_finished_image_newest_first(self, client, db):
        owner = make_user(db)
        shown = [make_generation(db, user=owner, description=f"image {n}") for n in range(3)]
        make_generation(db, user=owner, is_public=False)
        make_generation(db, user=owner, status="processing")
        make_generation(db, user=owner, status="failed")
        make_generation(db, user=make_user(db, is_active=False))
        db.commit()

        first = client.get("/api/v1/feed?limit=2").json()["data"]
        assert [g["id"] for g in first["results"]] == [shown[2].id, shown[1].id]
        card = first["results"][0]
        assert card["owner"]["username"] == owner.username and card["liked_by_me"] is None
        assert card["style"]["artist"]["artist_name"].startswith("Artist ")
        rest = client.get(f"/api/v1/feed?limit=2&cursor={first['next_cursor']}").json()["data"]
        assert [g["id"] for g in rest["results"]] == [shown[0].id] and rest["has_more"] is False

    def test_the_following_feed_is_what_my_artists_did(self, client, db, artist_user):
        dev_login(client, "fan@example.com")
        artist, _ = _style_of(db, artist_user)
        style = make_style(db, artist=artist, title="Ink Wash", training_status="completed",
                           trained_at=func.now())
        in_their_style = make_generation(db, style=style)
        by_them = make_generation(db, user=artist_user)
        make_generation(db, style=style, is_public=False)
        make_generation(db)  # someone else's style
        make_style(db, artist=artist, title="Still Training", training_status="training")
        db.commit()
        assert client.get("/api/v1/feed/following").json()["data"]["results"] == []

        client.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(client))
        first = client.get("/api/v1/feed/following?limit=2").json()["data"]
        rest = client.get(f"/api/v1/feed/following?limit=2&cursor={first['next_cursor']}").json()["data"]
        items = first["results"] + rest["results"]
        assert {(item["kind"], (item["generation"] or item["style"])["id"]) for item in items} == {
            ("generation", in_their_style.id), ("generation", by_them.id), ("style", style.id)}
        assert [item["at"] for item in items] == sorted((item["at"] for item in items), reverse=True)
        assert rest["has_more"] is False
        assert_error(client.get("/api/v1/feed/following?cursor=forged"), 400, "INVALID_CURSOR")

    def test_the_following_feed_needs_sign_in(self, client):
        assert_error(client.get("/api/v1/feed/following"), 401, "UNAUTHORIZED")


class TestPrivacy:
    def test_a_private_image_is_invisible_to_everyone_but_its_owner(self, client, db, artist_user):
        owner = dev_login(client, "owner@example.com")
        artist, _ = _style_of(db, artist_user)
        image = _image(db, owner["id"])
        fan, _ = another_client(client, "fan@example.com")
        fan.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(fan))
        comment = _comment(fan, image.id, "nice").json()["data"]
        _comment(client, image.id, "thanks", comment["id"])
        assert fan.get("/api/v1/notifications").json()["data"]["unread_count"] == 1  # the owner's reply

        db.execute(Generation.__table__.update().where(Generation.id == image.id).values(is_public=False))
        db.commit()

        assert fan.get("/api/v1/feed").json()["data"]["results"] == []
        assert fan.get("/api/v1/feed/following").json()["data"]["results"] == []
        assert_error(_like(fan, image.id), 404, "NOT_FOUND")
        assert_error(_unlike(fan, image.id), 404, "NOT_FOUND")
        assert_error(fan.get(f"/api/v1/generations/{image.id}/comments"), 404, "NOT_FOUND")
        assert_error(_comment(fan, image.id, "hello?"), 404, "NOT_FOUND")
        assert_error(fan.patch(f"/api/v1/comments/{comment['id']}", json={"content": "x"},
                               headers=csrf_headers(fan)), 404, "NOT_FOUND")
        assert_error(fan.delete(f"/api/v1/comments/{comment['id']}", headers=csrf_headers(fan)), 404, "NOT_FOUND")
        notifications = fan.get("/api/v1/notifications").json()["data"]
        assert notifications["results"] == [] and notifications["unread_count"] == 0
        assert fan.get(f"/api/v1/users/{owner['id']}").json()["data"]["stats"]["public_generations"] == 0

        # The owner still sees and uses it.
        assert client.get(f"/api/v1/generations/{image.id}/comments").status_code == 200
        assert _like(client, image.id).status_code == 200


class TestLeaving:
    def test_leaving_takes_likes_comments_and_follows_with_their_counts(self, client, db, artist_user, drift):
        owner = make_user(db)
        image = _image(db, owner.id)
        dev_login(client, "leaver@example.com")
        _like(client, image.id)
        parent = _comment(client, image.id, "mine").json()["data"]
        client.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(client))
        stayer, _ = another_client(client, "stayer@example.com")
        _comment(stayer, image.id, "a reply under the leaver's comment", parent["id"])
        _comment(stayer, image.id, "my own comment")
        withdrawn = _comment(stayer, image.id, "soon deleted").json()["data"]
        _comment(client, image.id, "the leaver's reply", withdrawn["id"])
        stayer.delete(f"/api/v1/comments/{withdrawn['id']}", headers=csrf_headers(stayer))

        assert client.delete("/api/v1/users/me", headers=csrf_headers(client)).json()["data"]["outcome"] == "deleted"
        db.rollback()
        assert db.scalar(select(Generation.like_count).where(Generation.id == image.id)) == 0
        assert db.scalar(select(Generation.comment_count).where(Generation.id == image.id)) == 1
        assert db.scalar(select(Artist.follower_count).where(Artist.user_id == artist_user.id)) == 0
        assert drift() == []

    def test_a_deactivated_artist_disappears_from_the_community(self, client, db, artist_user, drift):
        _, style = _style_of(db, artist_user)
        used = make_generation(db, style=style)  # a style with generations: leaving deactivates (§10.1)
        their_image = make_generation(db, user=artist_user)
        db.commit()
        fan, _ = another_client(client, "fan@example.com")
        fan.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(fan))
        _like(fan, their_image.id)
        dev_login(client, artist_user.email)
        _like(client, used.id)
        _comment(client, used.id, "glad you like my style")

        left = client.delete("/api/v1/users/me", headers=csrf_headers(client)).json()["data"]
        assert left["outcome"] == "deactivated"
        assert [g["id"] for g in fan.get("/api/v1/feed").json()["data"]["results"]] == [used.id]
        assert fan.get("/api/v1/users/me/following").json()["data"]["results"] == []
        assert fan.get(f"/api/v1/generations/{used.id}/comments").json()["data"]["results"] == []
        assert_error(fan.post(f"/api/v1/users/{artist_user.id}/follow", headers=csrf_headers(fan)), 404, "NOT_FOUND")
        assert_error(_like(fan, their_image.id), 404, "NOT_FOUND")
        assert drift() == []
