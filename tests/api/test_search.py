"""Search (spec §6.8, §8.5) on a seeded set: relevance order, matched_by, case-insensitive prefix and partial
matches through the trigram indexes, moderated tags left out, a cursor per list; tag moderation."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text

from db.models import Tag, generation_tags, style_tags
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import assert_error, csrf_headers, dev_login


def _tag(db, name: str, *styles, **flags) -> Tag:
    tag = Tag(name=name, usage_count=len(styles), **flags)
    db.add(tag)
    db.flush()
    for style in styles:
        db.execute(insert(style_tags).values(style_id=style.id, tag_id=tag.id))
    return tag


def _search(client, q: str, **params) -> dict:
    response = client.get("/api/v1/search", params={"q": q} | params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture
def seeded(db) -> dict:
    """Styles that match "watercolor" in each way, and some that must never be found."""
    style = lambda title, **values: make_style(db, title=title, training_status="completed", **values)  # noqa: E731
    s = {
        "name_exact": style("Watercolor"),
        "name_prefix": style("Watercolor Dreams"),
        "name_inside": style("Soft Watercolors"),
        "tag_exact": style("Night City"),
        "tag_prefix": style("Harbour"),
        "tag_inside": style("Forest"),
        "flagged_tag": style("Pencil"),
        "inactive_tag": style("Splash"),
        "flagged_name": style("Watercolor Banned"),
        "untrained": make_style(db, title="Watercolor Sketch", training_status="training"),
        "withdrawn": style("Watercolor Old", is_active=False),
        "deactivated_artist": style("Watercolor Gone", artist=make_artist(db, user=make_user(db, is_active=False))),
    }
    _tag(db, "watercolor", s["name_exact"], s["tag_exact"])
    _tag(db, "watercolor wash", s["tag_prefix"])
    _tag(db, "ink and watercolor", s["tag_inside"])
    _tag(db, "watercolor pencil", s["flagged_tag"], is_flagged=True)
    _tag(db, "watercolor splash", s["inactive_tag"], is_active=False)
    _tag(db, "watercolor banned", s["flagged_name"], is_flagged=True)
    db.commit()
    return s


class TestStyles:
    def test_relevance_and_matched_by(self, client, seeded):
        found = _search(client, "WaterColor", type="styles")
        assert found["artists"] is None
        assert [(r["id"], r["matched_by"]) for r in found["styles"]["results"]] == [
            (seeded["name_exact"].id, "name"),
            (seeded["tag_exact"].id, "tag"),
            (seeded["name_prefix"].id, "name"),
            (seeded["tag_prefix"].id, "tag"),
            (seeded["name_inside"].id, "name"),
            (seeded["tag_inside"].id, "tag"),
        ]
        first = found["styles"]["results"][0]
        assert first["title"] == "Watercolor" and set(first["artist"]) == {"id", "artist_name"}

    def test_prefix_and_partial_matches(self, client, seeded):
        assert [r["title"] for r in _search(client, "dream")["styles"]["results"]] == ["Watercolor Dreams"]
        inside = {r["id"] for r in _search(client, "ATERCOL")["styles"]["results"]}
        assert inside == {r["id"] for r in _search(client, "watercolor")["styles"]["results"]}
        assert _search(client, "wash")["styles"]["results"][0]["id"] == seeded["tag_prefix"].id

    def test_more_used_styles_first_at_the_same_relevance(self, client, db, seeded):
        db.execute(text("UPDATE style.styles SET generation_count = 5 WHERE id = :id"), {"id": seeded["tag_inside"].id})
        db.commit()
        found = _search(client, "watercolor", type="styles")["styles"]["results"]
        assert [r["id"] for r in found[-2:]] == [seeded["name_inside"].id, seeded["tag_inside"].id]  # name first
        _tag(db, "dusk", seeded["tag_exact"], seeded["tag_inside"])
        db.commit()
        assert [r["id"] for r in _search(client, "dusk")["styles"]["results"]] == [seeded["tag_inside"].id,
                                                                                     seeded["tag_exact"].id]

    def test_one_cursor_per_list(self, client, seeded):
        first = _search(client, "watercolor", type="styles", limit=4)["styles"]
        assert first["has_more"] is True
        rest = _search(client, "watercolor", type="styles", limit=4, cursor=first["next_cursor"])["styles"]
        assert len(first["results"]) + len(rest["results"]) == 6 and rest["has_more"] is False
        assert not {r["id"] for r in first["results"]} & {r["id"] for r in rest["results"]}
        assert_error(client.get("/api/v1/search", params={"q": "watercolor", "cursor": first["next_cursor"]}), 400,
                     "INVALID_CURSOR")
        assert_error(client.get("/api/v1/search", params={"q": "watercolor", "type": "styles", "cursor": "bad"}),
                     400, "INVALID_CURSOR")

    def test_wildcards_are_plain_characters(self, client, seeded):
        assert _search(client, "%")["styles"]["results"] == []
        assert _search(client, "_")["styles"]["results"] == []
        assert _search(client, "\\")["styles"]["results"] == []

    def test_images_are_never_search_results(self, client, db, seeded):
        private = make_generation(db, is_public=False)
        tag = _tag(db, "secretword")
        db.execute(insert(generation_tags).values(generation_id=private.id, tag_id=tag.id))
        db.commit()
        assert _search(client, "secretword") == {
            "styles": {"results": [], "next_cursor": None, "has_more": False},
            "artists": {"results": [], "next_cursor": None, "has_more": False},
        }


class TestArtists:
    def test_by_artist_name_and_username(self, client, db):
        by_name = make_artist(db, user=make_user(db, username="mina"), artist_name="Watercolor Master")
        by_username = make_artist(db, user=make_user(db, username="water"), artist_name="Lee")
        name_inside = make_artist(db, user=make_user(db, username="still"), artist_name="Still Water")
        username_inside = make_artist(db, user=make_user(db, username="deepwater_art"), artist_name="Deep")
        make_artist(db, user=make_user(db, username="water_gone", is_active=False), artist_name="Gone")
        make_user(db, username="waterboy")  # not an artist
        db.commit()

        found = _search(client, "Water", type="artists")
        assert found["styles"] is None
        assert [(r["id"], r["matched_by"]) for r in found["artists"]["results"]] == [
            (by_username.user_id, "username"),
            (by_name.user_id, "name"),
            (name_inside.user_id, "name"),
            (username_inside.user_id, "username"),
        ]
        assert set(found["artists"]["results"][0]) == {"id", "username", "profile_image_url", "artist_name",
                                                        "follower_count", "matched_by"}

    def test_all_returns_both_lists(self, client, db, seeded):
        make_artist(db, user=make_user(db, username="watercolor_master"), artist_name="Mina")
        db.commit()
        found = _search(client, "watercolor")
        assert len(found["styles"]["results"]) == 6 and len(found["artists"]["results"]) == 1


class TestBadInput:
    @pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 101}, {"q": "a", "type": "images"},
                                        {"q": "a", "limit": 0}, {"q": "a\x00b"}])
    def test_422(self, client, params):
        assert_error(client.get("/api/v1/search", params=params), 422, "VALIDATION_ERROR")


def test_partial_matches_use_the_trigram_indexes(db):
    """On a few thousand rows, a match inside the text is found through each GIN trigram index."""
    for statement in (
        "INSERT INTO auth.users (email, username) SELECT 'u' || g || '@example.com', 'user_' || g "
        "FROM generate_series(1, 3000) g",
        "INSERT INTO auth.artists (user_id, artist_name, verified_email) SELECT id, 'Artist ' || id, email "
        "FROM auth.users",
        "INSERT INTO style.styles (artist_id, title, trigger_tag, generation_cost_tokens) "
        "SELECT id, 'Style ' || id, 'style ' || id, 1 FROM auth.artists",
        "INSERT INTO tagging.tags (name) SELECT 'tag ' || g FROM generate_series(1, 3000) g",
        # What VACUUM does in production: move the GIN indexes' pending entries into the index proper.
        *(f"SELECT gin_clean_pending_list('{index}'::regclass)" for index in (
            "tagging.ix_tags_name_trgm", "style.ix_styles_title_trgm", "auth.ix_artists_artist_name_trgm",
            "auth.ix_users_username_trgm")),
        "ANALYZE auth.users, auth.artists, style.styles, tagging.tags",
        "SET LOCAL enable_seqscan = off",  # small tables are cheaper to read whole; the point is the index
    ):
        db.execute(text(statement))
    for table, column, index in [
        ("tagging.tags", "name", "ix_tags_name_trgm"),
        ("style.styles", "title", "ix_styles_title_trgm"),
        ("auth.artists", "artist_name", "ix_artists_artist_name_trgm"),
        ("auth.users", "username", "ix_users_username_trgm"),
    ]:
        plan = db.execute(text(f"EXPLAIN SELECT 1 FROM {table} WHERE {column} ILIKE '%atercol%'")).scalars().all()
        assert any(index in line for line in plan), plan
    db.rollback()


class TestTagModeration:
    @pytest.fixture
    def admin(self, client, db):
        make_user(db, email="ops@example.com", username="ops", role="admin")
        db.commit()
        dev_login(client, "ops@example.com")
        return client

    def test_flagging_a_tag_takes_its_styles_out_of_search(self, admin, db, seeded):
        tag = db.query(Tag).filter_by(name="watercolor").one()
        response = admin.patch(f"/api/v1/tags/{tag.id}", json={"is_flagged": True}, headers=csrf_headers(admin))
        assert response.status_code == 200, response.text
        assert response.json()["data"] | {"created_at": None} == {
            "id": tag.id, "name": "watercolor", "usage_count": 2, "is_active": True, "is_flagged": True,
            "created_at": None}
        found = [r["id"] for r in _search(admin, "watercolor", type="styles")["styles"]["results"]]
        assert seeded["tag_exact"].id not in found
        # The flagged name tag "watercolor" now also hides the style named "Watercolor".
        assert seeded["name_exact"].id not in found

        admin.patch(f"/api/v1/tags/{tag.id}", json={"is_flagged": False}, headers=csrf_headers(admin))
        assert seeded["tag_exact"].id in [r["id"] for r in _search(admin, "watercolor")["styles"]["results"]]

    def test_listing_with_filters(self, admin, seeded):
        flagged = admin.get("/api/v1/tags", params={"is_flagged": "true"}).json()["data"]["results"]
        assert [t["name"] for t in flagged] == ["watercolor banned", "watercolor pencil"]
        page = admin.get("/api/v1/tags", params={"name": "WATER", "limit": 2}).json()["data"]
        rest = admin.get("/api/v1/tags", params={"name": "water", "cursor": page["next_cursor"]}).json()["data"]
        assert [t["name"] for t in page["results"] + rest["results"]] == [
            "ink and watercolor", "watercolor", "watercolor banned", "watercolor pencil", "watercolor splash",
            "watercolor wash"]

    def test_operators_only(self, client, db, seeded):
        assert_error(client.get("/api/v1/tags"), 401, "UNAUTHORIZED")
        dev_login(client, "user@example.com")
        assert_error(client.get("/api/v1/tags"), 403, "FORBIDDEN")
        assert_error(client.patch("/api/v1/tags/1", json={"is_active": False}, headers=csrf_headers(client)), 403,
                     "FORBIDDEN")

    @pytest.mark.parametrize(("tag_id", "body", "status", "code"), [
        (987654, {"is_active": False}, 404, "NOT_FOUND"),
        (None, {}, 422, "VALIDATION_ERROR"),
        (None, {"is_active": "sometimes"}, 422, "VALIDATION_ERROR"),
        (None, {"name": "renamed"}, 422, "VALIDATION_ERROR"),
    ])
    def test_bad_changes(self, admin, db, seeded, tag_id, body, status, code):
        tag_id = tag_id or db.query(Tag).filter_by(name="watercolor").one().id
        assert_error(admin.patch(f"/api/v1/tags/{tag_id}", json=body, headers=csrf_headers(admin)), status, code)
