"""The operators' panel at /admin: only signed-in admins get in; money and the ledger are read-only; moderation
changes (accounts, tags, visibility) take effect in the product."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select

from db.models import Generation, Session, Tag, Transaction, User, style_tags
from tests.factories import make_artist, make_generation, make_style
from tests.helpers import another_client, dev_login

VIEWS = ("user", "artist", "style", "generation", "tag", "purchase", "transaction", "notification")


def _promote(db, user: dict, role: str) -> None:
    db.get(User, user["id"]).role = role
    db.commit()


@pytest.fixture
def operator(client, db):
    """`client`, signed in as an admin (who got the welcome bonus on signing in)."""
    user = dev_login(client, "ops@example.com")
    _promote(db, user, "admin")
    client.headers["Origin"] = str(client.base_url)
    return client


def _post_form(client, path: str, form: dict):
    return client.post(path, data=form, follow_redirects=False)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for path in ("/admin/", "/admin/transaction/list", "/admin/login"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"] == "/sign-in?next=/admin/", path


@pytest.mark.parametrize("role", ["user", "artist"])
def test_other_accounts_are_refused(client, db, role):
    _promote(db, dev_login(client, f"{role}@example.com"), role)
    client.headers["Origin"] = str(client.base_url)
    for path in ("/admin/", "/admin/user/list", "/admin/transaction/details/1"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    assert _post_form(client, "/admin/user/edit/1", {"is_active": "y"}).status_code == 403


def test_operators_see_every_view(operator, db):
    make_generation(db)
    db.commit()
    home = operator.get("/admin/")
    assert home.status_code == 200 and "script-src 'self'" in home.headers["content-security-policy"]
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", home.text))
    for view in VIEWS:
        listed = operator.get(f"/admin/{view}/list")
        assert listed.status_code == 200, (view, listed.text[:300])
        assert operator.get(f"/admin/{view}/details/1").status_code in (200, 404), view
    assert "ops@example.com" in operator.get("/admin/user/list").text
    assert operator.get("/admin/user/details/1").status_code == 200


def test_money_cannot_be_changed_from_the_panel(operator, db):
    [entry] = db.scalars(select(Transaction)).all()  # the operator's welcome bonus
    for view in ("transaction", "purchase", "artist", "notification"):
        assert operator.get(f"/admin/{view}/create").status_code == 403, view
        assert operator.get(f"/admin/{view}/edit/{entry.id}").status_code == 403, view
        assert operator.delete(f"/admin/{view}/delete", params={"pks": entry.id}).status_code == 403, view
    assert _post_form(operator, f"/admin/transaction/edit/{entry.id}", {"amount": "100000"}).status_code == 403
    fan = another_client(operator, "fan@example.com")[1]
    changed = _post_form(operator, f"/admin/user/edit/{fan['id']}", {"token_balance": "100000", "role": "admin"})
    assert changed.status_code == 302
    db.expire_all()
    fan_row = db.get(User, fan["id"])
    assert (fan_row.token_balance, fan_row.role) == (100, "user")  # only is_active is in the form
    assert db.get(Transaction, entry.id).amount == 100
    assert operator.get("/admin/user/create").status_code == 403
    assert operator.delete("/admin/user/delete", params={"pks": fan["id"]}).status_code == 403


def test_deactivating_an_account_signs_it_out(operator, db):
    fan_client, fan = another_client(operator, "fan@example.com")
    assert fan_client.get("/api/v1/auth/me").status_code == 200
    assert _post_form(operator, f"/admin/user/edit/{fan['id']}", {}).status_code == 302  # is_active unticked
    db.expire_all()
    assert db.get(User, fan["id"]).deactivated_at is not None
    assert db.scalars(select(Session).where(Session.user_id == fan["id"])).all() == []
    assert fan_client.get("/api/v1/auth/me").status_code == 401
    _post_form(operator, f"/admin/user/edit/{fan['id']}", {"is_active": "y"})
    db.expire_all()
    assert db.get(User, fan["id"]).is_active and db.get(User, fan["id"]).deactivated_at is None


def test_a_flagged_tag_stops_finding_its_styles(operator, db):
    style = make_style(db, title="Night City", training_status="completed")
    tag = Tag(name="harbour lights", usage_count=1)
    db.add(tag)
    db.flush()
    db.execute(insert(style_tags).values(style_id=style.id, tag_id=tag.id))
    db.commit()

    def found() -> list[str]:
        data = operator.get("/api/v1/search", params={"q": "harbour", "type": "styles"}).json()["data"]
        return [result["title"] for result in data["styles"]["results"]]

    assert found() == ["Night City"]
    assert _post_form(operator, f"/admin/tag/edit/{tag.id}", {"is_active": "y", "is_flagged": "y"}).status_code == 302
    assert found() == []
    _post_form(operator, f"/admin/tag/edit/{tag.id}", {"is_active": "y"})
    assert found() == ["Night City"]


def test_an_operator_hides_an_image_but_cannot_publish_an_unfinished_one(operator, db):
    shown = make_generation(db)
    queued = make_generation(db, status="queued", is_public=False)
    db.commit()
    assert [g["id"] for g in operator.get("/api/v1/feed").json()["data"]["results"]] == [shown.id]
    assert _post_form(operator, f"/admin/generation/edit/{shown.id}", {}).status_code == 302
    assert operator.get("/api/v1/feed").json()["data"]["results"] == []
    refused = _post_form(operator, f"/admin/generation/edit/{queued.id}", {"is_public": "y"})
    assert refused.status_code == 400 and "Only a completed image can be public." in refused.text
    db.expire_all()
    assert db.get(Generation, queued.id).is_public is False


def test_writes_from_another_site_are_refused(operator, db):
    fan = another_client(operator, "fan@example.com")[1]
    operator.headers["Origin"] = "https://evil.example"
    assert _post_form(operator, f"/admin/user/edit/{fan['id']}", {}).status_code == 403
    del operator.headers["Origin"]
    assert _post_form(operator, f"/admin/user/edit/{fan['id']}", {}).status_code == 403
    db.expire_all()
    assert db.get(User, fan["id"]).is_active


def test_an_artist_style_can_be_withdrawn(operator, db):
    style = make_style(db, artist=make_artist(db), title="Ink Wash", training_status="completed")
    db.commit()
    assert [s["title"] for s in operator.get("/api/v1/styles").json()["data"]["results"]] == ["Ink Wash"]
    assert _post_form(operator, f"/admin/style/edit/{style.id}", {}).status_code == 302
    assert operator.get("/api/v1/styles").json()["data"]["results"] == []
