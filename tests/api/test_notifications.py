"""Notifications (spec §6.9, §8.4): written with their cause, never for one's own action, listed in the
reader's language with an unread count, marked read one by one or all at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from db.engine import create_api_engine, create_session_factory
from db.models import Notification, User
from platform_api.notifications import messages
from platform_api.notifications.service import notify
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import another_client, assert_error, csrf_headers, dev_login


def _notifications(client, **params) -> dict:
    response = client.get("/api/v1/notifications", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _notify(settings, **values) -> None:
    """notify() the way the generation and training code call it: inside their own transaction."""

    async def run():
        engine = create_api_engine(settings.database)
        try:
            async with create_session_factory(engine)() as session, session.begin():
                await notify(session, **values)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture
def owner_and_fan(client, db):
    """The signed-in owner of a public image, and a fan in another browser."""
    owner = dev_login(client, "owner@example.com", "owner_one")
    image = make_generation(db, user=db.get(User, owner["id"]))
    make_artist(db, user=db.get(User, owner["id"]), artist_name="Owner Studio")
    db.commit()
    fan, fan_user = another_client(client, "fan@example.com")
    return owner, image, fan, fan_user


class TestWrittenWithTheirCause:
    def test_follow_like_comment_and_reply(self, client, db, owner_and_fan):
        owner, image, fan, fan_user = owner_and_fan
        fan.post(f"/api/v1/users/{owner['id']}/follow", headers=csrf_headers(fan))
        fan.post(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(fan))
        comment = fan.post(f"/api/v1/generations/{image.id}/comments", json={"content": "Lovely"},
                           headers=csrf_headers(fan)).json()["data"]
        client.post(f"/api/v1/generations/{image.id}/comments", json={"content": "Thanks", "parent_id": comment["id"]},
                    headers=csrf_headers(client))

        mine = _notifications(client)
        assert [(n["type"], n["message"]) for n in mine["results"]] == [
            ("comment", "fan commented on your image."),
            ("like", "fan liked your image."),
            ("follow", "fan started following you."),
        ]
        assert mine["results"][0]["data"] == {"generation_id": image.id, "comment_id": comment["id"]}
        assert mine["results"][0]["actor"]["id"] == fan_user["id"] and mine["unread_count"] == 3
        fans = _notifications(fan)
        assert [(n["type"], n["message"]) for n in fans["results"]] == [
            ("comment", "owner_one replied to your comment.")]
        assert fans["results"][0]["data"]["parent_comment_id"] == comment["id"]

    def test_a_reply_to_the_owner_tells_the_owner_once_and_others_hear_of_replies(self, client, db, owner_and_fan):
        owner, image, fan, _ = owner_and_fan
        top = client.post(f"/api/v1/generations/{image.id}/comments", json={"content": "About this one"},
                          headers=csrf_headers(client)).json()["data"]
        fan.post(f"/api/v1/generations/{image.id}/comments", json={"content": "Agreed", "parent_id": top["id"]},
                 headers=csrf_headers(fan))
        assert [n["message"] for n in _notifications(client)["results"]] == ["fan replied to your comment."]

    def test_nothing_for_ones_own_actions(self, client, db, settings, owner_and_fan):
        owner, image, _, _ = owner_and_fan
        client.post(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(client))
        client.post(f"/api/v1/generations/{image.id}/comments", json={"content": "mine"}, headers=csrf_headers(client))
        _notify(settings, recipient_id=owner["id"], actor_id=owner["id"], type="follow", data={})
        assert _notifications(client) == {"results": [], "next_cursor": None, "has_more": False, "unread_count": 0}

    def test_like_unlike_like_notifies_once(self, client, db, owner_and_fan):
        _, image, fan, _ = owner_and_fan
        for method in ("post", "delete", "post"):
            getattr(fan, method)(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(fan))
        assert _notifications(client)["unread_count"] == 1

    def test_a_refused_action_leaves_no_notification(self, client, db, owner_and_fan):
        owner, _, fan, _ = owner_and_fan
        fan.post(f"/api/v1/users/{owner['id']}/follow", headers=csrf_headers(fan))
        assert_error(fan.post(f"/api/v1/users/{owner['id']}/follow", headers=csrf_headers(fan)), 409,
                     "DUPLICATE_FOLLOW")
        assert db.scalar(select(func.count()).select_from(Notification)) == 1

    def test_notify_rolls_back_with_its_cause(self, settings, db):
        user = make_user(db)
        db.commit()

        async def run():
            engine = create_api_engine(settings.database)
            try:
                async with create_session_factory(engine)() as session:
                    async with session.begin():
                        await notify(session, recipient_id=user.id, type="generation_failed", data={"generation_id": 1})
                        await session.rollback()
            finally:
                await engine.dispose()

        asyncio.run(run())
        assert db.scalar(select(func.count()).select_from(Notification)) == 0

    def test_notify_refuses_what_it_could_not_render(self, settings, db):
        user = make_user(db)
        db.commit()
        with pytest.raises(ValueError):
            _notify(settings, recipient_id=user.id, type="image_liked", data={})
        with pytest.raises(ValueError):
            _notify(settings, recipient_id=user.id, type="like", data={"generation_id": "12"})


class TestLanguages:
    def test_system_notifications_in_english_and_korean(self, client, db, settings):
        me = dev_login(client, "artist@example.com")
        style = make_style(db, artist=make_artist(db, user=db.get(User, me["id"])), title="Ink Wash",
                           training_status="completed")
        image = make_generation(db, user=db.get(User, me["id"]), style=style, is_public=False)
        db.commit()
        for type, data in [
            ("style_training_complete", {"style_id": style.id, "style_title": "Ink Wash"}),
            ("style_training_failed", {"style_id": style.id, "style_title": "Ink Wash"}),
            ("generation_complete", {"generation_id": image.id}),
            ("generation_failed", {"generation_id": image.id}),
        ]:
            _notify(settings, recipient_id=me["id"], type=type, data=data)

        english = [n["message"] for n in _notifications(client)["results"]]
        assert english == [
            "Your image could not be generated. Your tokens were refunded.",
            "Your image is ready.",
            "Training your style “Ink Wash” failed.",
            "Your style “Ink Wash” is trained and ready to use.",
        ]
        client.headers["Accept-Language"] = "ko-KR,ko;q=0.9,en;q=0.8"
        korean = [n["message"] for n in _notifications(client)["results"]]
        assert korean[1] == "이미지 생성이 완료되었습니다." and korean[3] == "스타일 “Ink Wash” 학습이 완료되어 바로 사용할 수 있습니다."

    def test_without_accept_language_the_accounts_language(self, client, db, owner_and_fan):
        owner, image, fan, _ = owner_and_fan
        fan.post(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(fan))
        client.patch("/api/v1/users/me", json={"preferred_language": "ko"}, headers=csrf_headers(client))
        assert _notifications(client)["results"][0]["message"] == "fan님이 회원님의 이미지를 좋아합니다."
        client.headers["Accept-Language"] = "en"
        assert _notifications(client)["results"][0]["message"] == "fan liked your image."

    def test_a_gone_actor_is_someone_and_an_untitled_style_your_style(self):
        assert messages.render("like", {"generation_id": 1}, None, "en") == "Someone liked your image."
        assert messages.render("style_training_failed", {"style_id": 1}, None, "ko") == "스타일 학습에 실패했습니다."
        assert messages.render("style_training_complete", {}, None, "en") == "Your style is trained and ready to use."

    def test_a_finished_training_names_the_epoch_it_draws_with(self):
        data = {"style_id": 1, "style_title": "Ink Wash", "epoch": 7}
        assert messages.render("style_training_complete", data, None, "en") == (
            "Your style “Ink Wash” is trained and ready to use, drawing with epoch 7, its best. "
            "You can choose another epoch on the style's page.")
        assert "가장 좋은 7번째 에폭" in messages.render("style_training_complete", data, None, "ko")


class TestReading:
    def test_mark_one_then_all_read(self, client, db, owner_and_fan):
        owner, image, fan, _ = owner_and_fan
        fan.post(f"/api/v1/users/{owner['id']}/follow", headers=csrf_headers(fan))
        fan.post(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(fan))
        like, follow = _notifications(client)["results"]

        for _ in range(2):  # idempotent
            read = client.patch(f"/api/v1/notifications/{like['id']}/read", headers=csrf_headers(client))
            assert read.status_code == 200, read.text
            assert read.json()["data"]["is_read"] is True and read.json()["data"]["read_at"]
        listing = _notifications(client)
        assert listing["unread_count"] == 1
        assert [n["id"] for n in _notifications(client, unread_only="true")["results"]] == [follow["id"]]

        response = client.post("/api/v1/notifications/read-all", headers=csrf_headers(client))
        assert response.json()["data"] == {"marked_read": 1, "unread_count": 0}
        assert _notifications(client)["unread_count"] == 0

    def test_someone_elses_notification_is_not_found(self, client, db, owner_and_fan):
        owner, image, fan, _ = owner_and_fan
        fan.post(f"/api/v1/generations/{image.id}/like", headers=csrf_headers(fan))
        theirs = _notifications(client)["results"][0]
        assert_error(fan.patch(f"/api/v1/notifications/{theirs['id']}/read", headers=csrf_headers(fan)), 404,
                     "NOT_FOUND")
        assert_error(fan.patch("/api/v1/notifications/987654/read", headers=csrf_headers(fan)), 404, "NOT_FOUND")
        assert_error(fan.patch("/api/v1/notifications/x/read", headers=csrf_headers(fan)), 422, "VALIDATION_ERROR")
        fan.post("/api/v1/notifications/read-all", headers=csrf_headers(fan))
        assert _notifications(client)["unread_count"] == 1

    def test_pages_newest_first(self, client, db, settings):
        me = dev_login(client, "me@example.com")
        for n in range(3):
            _notify(settings, recipient_id=me["id"], type="style_training_complete",
                    data={"style_id": n, "style_title": f"Style {n}"})
        first = _notifications(client, limit=2)
        assert [n["data"]["style_id"] for n in first["results"]] == [2, 1] and first["unread_count"] == 3
        rest = _notifications(client, limit=2, cursor=first["next_cursor"])
        assert [n["data"]["style_id"] for n in rest["results"]] == [0] and rest["has_more"] is False
        assert_error(client.get("/api/v1/notifications?cursor=forged"), 400, "INVALID_CURSOR")

    def test_signed_in_only_and_csrf(self, client):
        assert_error(client.get("/api/v1/notifications"), 401, "UNAUTHORIZED")
        assert_error(client.post("/api/v1/notifications/read-all"), 401, "UNAUTHORIZED")
        dev_login(client, "me@example.com")
        assert_error(client.post("/api/v1/notifications/read-all"), 403, "CSRF_FAILED")
