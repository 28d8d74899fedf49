"""The data model's own guarantees (spec §5.5), enforced by PostgreSQL whatever the code does."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, text
from sqlalchemy.exc import IntegrityError

from db.models import Follow, Generation, Like, Style, Tag, Transaction, User
from tests.factories import make_artist, make_style, make_user


def _generation(db, *, user, style) -> Generation:
    generation = Generation(
        user_id=user.id,
        style_id=style.id,
        prompt_tags=["cat"],
        prompt="cat",
        aspect_ratio="1:1",
        width=512,
        height=512,
        seed=1,
        cost_tokens=style.generation_cost_tokens,
    )
    db.add(generation)
    db.flush()
    return generation


def _violates(db, statement, constraint: str) -> None:
    with pytest.raises(IntegrityError, match=constraint):
        with db.begin_nested():
            db.execute(statement)


def test_token_balance_cannot_go_negative(db):
    user = make_user(db, token_balance=5)
    _violates(db, text("UPDATE auth.users SET token_balance = -1 WHERE id = :id").bindparams(id=user.id),
              "ck_users_token_balance_not_negative")


def test_artist_earnings_and_counters_cannot_go_negative(db):
    artist = make_artist(db)
    _violates(db, text("UPDATE auth.artists SET earned_token_balance = -1 WHERE id = :id").bindparams(id=artist.id),
              "ck_artists_earned_token_balance_not_negative")


def test_follow_is_unique_and_never_of_oneself(db):
    fan, artist = make_user(db), make_artist(db)
    db.add(Follow(follower_id=fan.id, following_id=artist.user_id))
    db.flush()
    with pytest.raises(IntegrityError, match="uq_follows_follower_id_following_id"):
        with db.begin_nested():
            db.add(Follow(follower_id=fan.id, following_id=artist.user_id))
    with pytest.raises(IntegrityError, match="ck_follows_no_self_follow"):
        with db.begin_nested():
            db.add(Follow(follower_id=fan.id, following_id=fan.id))


def test_like_is_unique(db):
    style = make_style(db)
    user = make_user(db)
    generation = _generation(db, user=user, style=style)
    db.add(Like(user_id=user.id, generation_id=generation.id))
    db.flush()
    with pytest.raises(IntegrityError, match="uq_likes_user_id_generation_id"):
        with db.begin_nested():
            db.add(Like(user_id=user.id, generation_id=generation.id))


def test_a_style_with_generations_cannot_be_deleted(db):
    style = make_style(db)
    _generation(db, user=make_user(db), style=style)
    _violates(db, delete(Style).where(Style.id == style.id), "fk_generations_style_id_styles")


def test_a_style_without_generations_can_be_deleted(db):
    style = make_style(db)
    db.execute(delete(Style).where(Style.id == style.id))
    assert db.get(Style, style.id) is None


def test_price_range_is_enforced(db):
    for price in (0, 10001):
        with pytest.raises(IntegrityError, match="ck_styles_generation_cost_tokens_range"):
            with db.begin_nested():
                make_style(db, generation_cost_tokens=price)


def test_welcome_bonus_is_granted_at_most_once_per_user(db):
    user = make_user(db)
    db.add(Transaction(kind="welcome_bonus", receiver_id=user.id, amount=100, memo="Welcome Bonus"))
    db.flush()
    with pytest.raises(IntegrityError, match="uq_transactions_welcome_bonus_receiver"):
        with db.begin_nested():
            db.add(Transaction(kind="welcome_bonus", receiver_id=user.id, amount=100, memo="Welcome Bonus"))


def test_one_ledger_row_of_each_kind_per_generation(db):
    style = make_style(db)
    user = make_user(db, token_balance=100)
    generation = _generation(db, user=user, style=style)
    reserve = {"kind": "generation_reserve", "sender_id": user.id, "amount": 10, "related_generation_id": generation.id}
    db.add(Transaction(**reserve))
    db.flush()
    with pytest.raises(IntegrityError, match="uq_transactions_kind_generation"):
        with db.begin_nested():
            db.add(Transaction(**reserve))


def test_tags_are_stored_lowercase(db):
    with pytest.raises(IntegrityError, match="ck_tags_name_lowercase"):
        with db.begin_nested():
            db.add(Tag(name="Watercolor"))
    db.add(Tag(name="watercolor"))
    db.flush()


def test_deleting_a_plain_user_cascades_to_their_content_and_keeps_the_ledger(db):
    style = make_style(db)
    user = make_user(db, token_balance=90)
    generation = _generation(db, user=user, style=style)
    db.add(Transaction(kind="welcome_bonus", receiver_id=user.id, amount=100))
    db.add(Like(user_id=user.id, generation_id=generation.id))
    db.flush()

    user_id, generation_id = user.id, generation.id
    db.execute(delete(User).where(User.id == user_id))
    db.expire_all()

    assert db.get(Generation, generation_id) is None
    assert db.query(Like).count() == 0
    bonus = db.query(Transaction).one()
    assert bonus.receiver_id is None and bonus.amount == 100
