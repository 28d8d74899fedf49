"""Rows for tests, with sensible defaults; pass keyword overrides for what a test cares about."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from db.models import Artist, Generation, Style, User

_sequence = itertools.count(1)


def make_user(db: Session, **overrides) -> User:
    n = next(_sequence)
    values = {"email": f"user{n}@example.com", "username": f"user{n}", "token_balance": 0} | overrides
    user = User(**values)
    db.add(user)
    db.flush()
    return user


def make_artist(db: Session, *, user: User | None = None, **overrides) -> Artist:
    user = user or make_user(db, role="artist")
    user.role = "artist"
    values = {"artist_name": f"Artist {user.id}", "verified_email": user.email} | overrides
    artist = Artist(user_id=user.id, **values)
    db.add(artist)
    db.flush()
    return artist


def make_style(db: Session, *, artist: Artist | None = None, **overrides) -> Style:
    artist = artist or make_artist(db)
    title = overrides.pop("title", f"Style {next(_sequence)}")
    values = {
        "title": title,
        "trigger_tag": title.lower(),
        "description": "",
        "generation_cost_tokens": 10,
    } | overrides
    style = Style(artist_id=artist.id, **values)
    db.add(style)
    db.flush()
    return style


def make_generation(db: Session, *, user: User | None = None, style: Style | None = None, **overrides) -> Generation:
    """A finished public image by default; pass is_public=False or another status for the other cases."""
    user = user or make_user(db)
    style = style or make_style(db, training_status="completed")
    values = {
        "status": "completed",
        "is_public": True,
        "prompt_tags": ["portrait"],
        "prompt": "portrait",
        "aspect_ratio": "1:1",
        "width": 512,
        "height": 512,
        "seed": 1,
        "cost_tokens": style.generation_cost_tokens,
        "adapter_key": style.adapter_key,
    } | overrides
    generation = Generation(user_id=user.id, style_id=style.id, **values)
    db.add(generation)
    db.flush()
    return generation
