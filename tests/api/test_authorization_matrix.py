"""Who may call what (spec §10): every route of the app, called by each of eight callers, against a table of
the outcome each must get (status and error code). A route without a row fails `test_every_route_has_a_row`,
so a new endpoint has to say who may call it.

Each call meets a world of its own, built in the database directly so that 500-odd calls stay cheap: a fan
(`user`) with a private image, a comment, a notification, a pending order, a follow and an API key (`api_key`
calls as the fan); `other_user`; an `artist` with a trained style, its training image and its run;
`other_artist`, who has no style yet; an `admin`; and Ray work holding the `internal` token. Beyond the
outcomes, no answer may name the training image, nor the private image to anyone but the fan, nor the training
samples to anyone but the artist. Cookie-authenticated writes without the CSRF header are refused and change
nothing.
"""

from __future__ import annotations

import asyncio
import functools
import io
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import routing
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text
from sqlalchemy.orm import Session

from db.base import Base
from db.models import ApiKey, Artwork, Comment, Follow, Notification, Purchase, Tag, TrainingRun
from db.models import Session as SignInSession
from platform_api.app import create_app
from platform_api.auth.secrets import new_secret, secret_hash
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import settings_for_tests
from tests.stubs.compute import without_ray
from tests.training.conftest import training_images

CALLERS = ("anonymous", "user", "other_user", "artist", "other_artist", "admin", "api_key", "internal")
SIGNED_IN = ("user", "other_user", "artist", "other_artist", "admin", "api_key")
SESSIONS = ("user", "other_user", "artist", "other_artist", "admin")
FAN = ("user", "api_key")  # the API key is the fan's
INTERNAL_TOKEN = "internal-token-of-the-ray-work"
METRICS_TOKEN = "metrics-token-of-the-scraper"
CSRF = "csrf-token-of-the-browser"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_worlds = itertools.count(1)

Outcome = tuple[int, str | None]  # the status and, for an error in the envelope, its code
UNAUTHORIZED: Outcome = (401, "UNAUTHORIZED")
HIDDEN: Outcome = (404, "NOT_FOUND")


def _png(size: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (180, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


# --- who gets what --------------------------------------------------------------------------------

def everyone(status: int = 200, code: str | None = None) -> dict[str, Outcome]:
    return {caller: (status, code) for caller in CALLERS}


def only(allowed: tuple[str, ...], status: int = 200, *, others: Outcome,
         **overrides: Outcome) -> dict[str, Outcome]:
    """`allowed` get `status`, other signed-in callers `others`; anonymous and internal callers are 401."""
    outcomes = {caller: (status, None) if caller in allowed else others for caller in SIGNED_IN}
    return outcomes | {"anonymous": UNAUTHORIZED, "internal": UNAUTHORIZED} | overrides


def signed_in(status: int = 200, **overrides: Outcome) -> dict[str, Outcome]:
    return only(SIGNED_IN, status, others=(status, None), **overrides)


def fans_own(status: int = 200, *, others: Outcome = HIDDEN, **overrides: Outcome) -> dict[str, Outcome]:
    """The fan's own things: anyone else is told they do not exist."""
    return only(FAN, status, others=others, **overrides)


def artists_only(status: int = 200, **overrides: Outcome) -> dict[str, Outcome]:
    return only(("artist", "other_artist"), status, others=(403, "ARTIST_ONLY"), **overrides)


def admin_only() -> dict[str, Outcome]:
    return only(("admin",), others=(403, "FORBIDDEN"))


def internal_only() -> dict[str, Outcome]:
    return everyone(*UNAUTHORIZED) | {"internal": (200, None)}


# --- the world each call meets ----------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    sessions: dict[str, str]  # caller → session token
    api_key: str
    ids: dict[str, int]
    order_id: str
    run_prefix: str
    training_image: str
    unseen: dict[str, tuple[str, ...]]  # caller → object keys no answer to them may name


def _session(db: Session, user_id: int) -> str:
    token = new_secret()
    db.add(SignInSession(token_hash=secret_hash(token), user_id=user_id,
                         expires_at=datetime.now(UTC) + timedelta(hours=1)))
    return token


def build_world(db: Session, store) -> World:
    n = next(_worlds)
    fan, other, admin = (make_user(db, token_balance=100, role=role) for role in ("user", "user", "admin"))
    artist = make_artist(db, user=make_user(db, token_balance=100))
    other_artist = make_artist(db, user=make_user(db, token_balance=100), follower_count=1)  # the fan follows
    style = make_style(db, artist=artist, training_status="completed",
                       adapter_key=f"private/styles/{n}/a.safetensors")
    shared = make_generation(db, user=other, style=style, result_key=f"public/generations/{n}/shared.png",
                             comment_count=1)
    private = make_generation(db, user=fan, style=style, is_public=False,
                              result_key=f"public/generations/{n}/private-{new_secret(8)}.png")
    training_image = f"private/styles/{style.id}/artworks/{new_secret(8)}/original.png"
    run_prefix = f"private/styles/{style.id}/runs/{n}/"
    sample = f"{run_prefix}sample-{new_secret(8)}.png"
    run = TrainingRun(style_id=style.id, status="succeeded", submission_id=f"run-{n}-{new_secret(4)}",
                      manifest={"sample_keys": [sample]})
    prefix = new_secret(6)[:8]
    api_key = f"slk_{prefix}_{new_secret()}"
    key = ApiKey(user_id=fan.id, name="nightly batch", prefix=prefix, key_hash=secret_hash(api_key))
    comment = Comment(generation_id=shared.id, user_id=fan.id, content="Lovely light.")
    notification = Notification(recipient_id=fan.id, actor_id=other.id, type="follow")
    purchase = Purchase(user_id=fan.id, package_id="basic_100", order_id=f"order-{n}-{new_secret(6)}",
                        amount_tokens=100, amount=1000, currency="KRW", provider="dev")
    tag = Tag(name=f"moonlit{n}")
    db.add_all([run, key, comment, notification, purchase, tag,
                Artwork(style_id=style.id, position=0, image_key=training_image, width=512, height=512),
                Follow(follower_id=fan.id, following_id=other_artist.user_id)])
    sessions = {"user": _session(db, fan.id), "other_user": _session(db, other.id),
                "artist": _session(db, artist.user_id), "other_artist": _session(db, other_artist.user_id),
                "admin": _session(db, admin.id)}
    db.commit()
    for stored in (private.result_key, training_image):  # there, so that a refusal is not just a missing file
        asyncio.run(store.put(stored, _png(), content_type="image/png", public=stored.startswith("public/")))
    unseen = {caller: (training_image,) + (() if caller in FAN else (private.result_key,))
              + (() if caller == "artist" else (sample,)) for caller in CALLERS}
    ids = {"user": fan.id, "artist": artist.user_id, "other_artist": other_artist.user_id, "style": style.id,
           "private_generation": private.id, "comment": comment.id, "notification": notification.id,
           "purchase": purchase.id, "run": run.id, "tag": tag.id, "key": key.id}
    return World(sessions=sessions, api_key=api_key, ids=ids, order_id=purchase.order_id,
                 run_prefix=run_prefix, training_image=training_image, unseen=unseen)


# --- the table ------------------------------------------------------------------------------------------

Body = dict[str, Any] | Callable[[World], dict[str, Any]] | None


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # the path as app.routes has it
    expected: dict[str, Outcome]
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → the world's object
    url: str | Callable[[World], str] | None = None  # where a route's path alone says too little
    json: Body = None
    params: dict[str, str] | None = None
    form: Callable[[], dict[str, Any]] | None = None  # data and files of a multipart body
    mount: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return ("MOUNT" if self.mount else self.method, self.route)

    def target(self, world: World) -> str:
        if callable(self.url):
            return self.url(world)
        return self.url or self.route.format(**{name: world.ids[obj] for name, obj in self.ids.items()})

    def body(self, world: World) -> dict[str, Any]:
        values: dict[str, Any] = {"params": self.params}
        if self.json is not None:
            values["json"] = self.json(world) if callable(self.json) else self.json
        if self.form is not None:
            values |= self.form()
        return values


def _signature_form() -> dict[str, Any]:
    return {"data": {"artist_name": "Mina Kim", "verified_email": "studio@example.com"},
            "files": {"signature_image": ("signature.png", _png(), "image/png")}}


@functools.cache
def _ten_training_images() -> list[bytes]:
    return training_images(10)


def _style_form() -> dict[str, Any]:
    images = [("images", (f"a{i}.png", data, "image/png")) for i, data in enumerate(_ten_training_images())]
    fields = {"title": "Ink Wash", "generation_cost_tokens": "5", "tags": json.dumps([["mountain"]] * 10)}
    return {"data": fields, "files": images}


def _verify_form() -> dict[str, Any]:
    return {"files": {"image": ("found.png", _png(512), "image/png")}}


def _profile_image_form() -> dict[str, Any]:
    return {"files": {"image": ("me.png", _png(), "image/png")}}


PROGRESS = {"current_epoch": 1, "total_epochs": 2, "progress_percent": 50, "estimated_seconds": 10}
V1 = "/api/v1"

ROWS = [
    # The process: documents, probes, metrics (for the scraper's own token only), stored objects.
    Row("GET", "/openapi.json", everyone()),
    Row("GET", "/docs", everyone()),
    Row("GET", "/docs/oauth2-redirect", everyone()),
    Row("GET", "/redoc", everyone()),
    Row("GET", "/healthz", everyone()),
    Row("GET", "/readyz", everyone()),
    Row("GET", "/metrics", everyone(*UNAUTHORIZED)),
    Row("GET", "/media/{key:path}", everyone(*HIDDEN), url=lambda w: f"/media/{w.training_image}"),
    Row("GET", "/_dev/toss", everyone(), mount=True,
        url="/_dev/toss/checkout?orderId=o1&amount=1000&currency=KRW&orderName=T&successUrl=/&failUrl=/"),
    # The operators' panel answers in its own way: a redirect to sign in, a plain 403.
    Row("GET", "/admin", mount=True, url="/admin/",
        expected=everyone(302) | {caller: (403, None) for caller in SESSIONS} | {"admin": (200, None)}),
    # Signing in and out, the CSRF token, API keys (managed from a browser session only).
    Row("GET", f"{V1}/auth/google/login", everyone(503, "SIGN_IN_UNAVAILABLE")),
    Row("GET", f"{V1}/auth/google/callback", everyone(503, "SIGN_IN_UNAVAILABLE")),
    Row("POST", f"{V1}/auth/dev-login", everyone(), json={"email": "newcomer@example.com"}),
    Row("GET", f"{V1}/auth/me", signed_in()),
    Row("POST", f"{V1}/auth/logout", signed_in()),
    Row("GET", f"{V1}/auth/csrf", everyone()),
    Row("POST", f"{V1}/auth/api-keys", only(SESSIONS, 201, others=(403, "FORBIDDEN")), json={"name": "more"}),
    Row("GET", f"{V1}/auth/api-keys", only(SESSIONS, others=(403, "FORBIDDEN"))),
    Row("DELETE", f"{V1}/auth/api-keys/{{key_id}}", fans_own(api_key=(403, "FORBIDDEN")),
        ids={"key_id": "key"}),
    # Accounts.
    Row("GET", f"{V1}/users/{{user_id}}", everyone(), ids={"user_id": "artist"}),
    Row("PATCH", f"{V1}/users/me", signed_in(), json={"bio": "Painting at night."}),
    Row("PUT", f"{V1}/users/me/profile-image", signed_in(), form=_profile_image_form),
    Row("DELETE", f"{V1}/users/me/profile-image", signed_in()),
    Row("POST", f"{V1}/users/me/upgrade-to-artist", form=_signature_form,
        expected=signed_in(artist=(409, "ALREADY_ARTIST"), other_artist=(409, "ALREADY_ARTIST"))),
    Row("DELETE", f"{V1}/users/me", signed_in()),
    # Tokens and payments.
    Row("GET", f"{V1}/tokens/balance", signed_in()),
    Row("GET", f"{V1}/tokens/packages", everyone()),
    Row("POST", f"{V1}/tokens/purchase", signed_in(201), json={"package_id": "basic_100"}),
    Row("POST", f"{V1}/tokens/purchase/confirm", fans_own(402) | {c: (402, "PAYMENT_FAILED") for c in FAN},
        json=lambda w: {"paymentKey": "pk-forged", "orderId": w.order_id, "amount": "1"}),
    Row("POST", f"{V1}/tokens/purchases/{{purchase_id}}/refund",
        fans_own() | {c: (409, "CONFLICT") for c in FAN}, ids={"purchase_id": "purchase"}),
    Row("GET", f"{V1}/tokens/transactions", signed_in()),
    Row("POST", f"{V1}/webhooks/toss/payment", everyone(), json={"eventType": "DEPOSIT_CALLBACK", "data": {
        "paymentKey": "pk-unknown"}}),
    Row("POST", f"{V1}/verify", everyone(), form=_verify_form),
    # Community: the private image is the fan's alone; comments are their authors'.
    Row("POST", f"{V1}/generations/{{generation_id}}/like", fans_own(),
        ids={"generation_id": "private_generation"}),
    Row("DELETE", f"{V1}/generations/{{generation_id}}/like", fans_own(),
        ids={"generation_id": "private_generation"}),
    Row("GET", f"{V1}/generations/{{generation_id}}/comments", fans_own(anonymous=HIDDEN, internal=HIDDEN),
        ids={"generation_id": "private_generation"}),
    Row("POST", f"{V1}/generations/{{generation_id}}/comments", fans_own(201),
        ids={"generation_id": "private_generation"}, json={"content": "Mine."}),
    Row("PATCH", f"{V1}/comments/{{comment_id}}", fans_own(others=(403, "FORBIDDEN")),
        ids={"comment_id": "comment"}, json={"content": "Edited."}),
    Row("DELETE", f"{V1}/comments/{{comment_id}}", fans_own(others=(403, "FORBIDDEN")),
        ids={"comment_id": "comment"}),
    Row("POST", f"{V1}/users/{{user_id}}/follow", signed_in(201, artist=(400, "SELF_FOLLOW_NOT_ALLOWED")),
        ids={"user_id": "artist"}),
    Row("DELETE", f"{V1}/users/{{user_id}}/follow", fans_own(), ids={"user_id": "other_artist"}),
    Row("GET", f"{V1}/users/me/following", signed_in()),
    Row("GET", f"{V1}/feed", everyone()),
    Row("GET", f"{V1}/feed/following", signed_in()),
    Row("GET", f"{V1}/notifications", signed_in()),
    Row("PATCH", f"{V1}/notifications/{{notification_id}}/read", fans_own(),
        ids={"notification_id": "notification"}),
    Row("POST", f"{V1}/notifications/read-all", signed_in()),
    # Search, and tag moderation for operators.
    Row("GET", f"{V1}/search", everyone(), params={"q": "style"}),
    Row("GET", f"{V1}/tags", admin_only()),
    Row("PATCH", f"{V1}/tags/{{tag_id}}", admin_only(), ids={"tag_id": "tag"}, json={"is_flagged": True}),
    # Styles: the artist's own; the other artist has none yet, so may create one.
    Row("POST", f"{V1}/styles", artists_only(202, artist=(403, "STYLE_LIMIT_REACHED")), form=_style_form),
    Row("GET", f"{V1}/styles", everyone()),
    Row("GET", f"{V1}/styles/me", artists_only()),
    Row("GET", f"{V1}/styles/{{style_id}}", everyone(), ids={"style_id": "style"}),
    Row("PATCH", f"{V1}/styles/{{style_id}}", artists_only(other_artist=(403, "FORBIDDEN")),
        ids={"style_id": "style"}, json={"description": "Misty mornings."}),
    Row("POST", f"{V1}/styles/{{style_id}}/retrain",
        artists_only(artist=(409, "CONFLICT"), other_artist=(403, "FORBIDDEN")), ids={"style_id": "style"}),
    Row("POST", f"{V1}/styles/{{style_id}}/training/cancel",
        artists_only(artist=(409, "CONFLICT"), other_artist=(403, "FORBIDDEN")), ids={"style_id": "style"}),
    # Generations: the private image is the fan's alone.
    Row("POST", f"{V1}/generations", signed_in(202), json=lambda w: {"style_id": w.ids["style"],
                                                                       "prompt_tags": ["cat"]}),
    Row("GET", f"{V1}/generations/me", signed_in()),
    Row("GET", f"{V1}/generations/feed", everyone()),
    Row("GET", f"{V1}/generations/{{generation_id}}", fans_own(anonymous=HIDDEN, internal=HIDDEN),
        ids={"generation_id": "private_generation"}),
    Row("PATCH", f"{V1}/generations/{{generation_id}}", fans_own(),
        ids={"generation_id": "private_generation"}, json={"description": "Mine."}),
    Row("GET", f"{V1}/generations/{{generation_id}}/download", fans_own(anonymous=HIDDEN, internal=HIDDEN),
        ids={"generation_id": "private_generation"}),
    # Ray work reporting on training runs.
    Row("POST", f"{V1}/internal/training-runs/{{run_id}}/progress", internal_only(), ids={"run_id": "run"},
        json=PROGRESS),
    Row("POST", f"{V1}/internal/training-runs/{{run_id}}/complete", internal_only(), ids={"run_id": "run"},
        json=lambda w: {"adapter_key": f"{w.run_prefix}a.safetensors", "manifest": {}, "sample_keys": [],
                        "manifest_key": f"{w.run_prefix}m.json"}),
    Row("POST", f"{V1}/internal/training-runs/{{run_id}}/fail", internal_only(), ids={"run_id": "run"},
        json={"reason": "out of memory"}),
]


# --- calling ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api(database_url: str, tmp_path_factory) -> Iterator[TestClient]:
    settings = settings_for_tests(database_url, tmp_path_factory.mktemp("authorization"))
    settings.auth.internal_api_token = INTERNAL_TOKEN
    settings.observability.metrics_token = METRICS_TOKEN
    with TestClient(without_ray(create_app(settings)), follow_redirects=False) as client:
        yield client


def _headers(world: World, caller: str, *, csrf: bool = True) -> dict[str, str]:
    if caller in SESSIONS:
        cookies = {"Cookie": f"sl_session={world.sessions[caller]}; sl_csrf={CSRF}"}
        return cookies | ({"X-CSRF-Token": CSRF} if csrf else {})
    if caller == "api_key":
        return {"Authorization": f"Bearer {world.api_key}"}
    if caller == "internal":
        return {"Authorization": f"Bearer {INTERNAL_TOKEN}", "X-Request-Source": "training-job"}
    return {}


def _call(api: TestClient, row: Row, world: World, caller: str, *, csrf: bool = True):
    api.cookies.clear()  # each call carries its caller's credentials only
    headers = _headers(world, caller, csrf=csrf)
    return api.request(row.method, row.target(world), headers=headers, **row.body(world))


def _outcome(response) -> Outcome:
    is_envelope = response.headers.get("content-type", "").startswith("application/json")
    body = response.json() if is_envelope else {}
    return response.status_code, (body.get("error") or {}).get("code") if isinstance(body, dict) else None


def _route_keys(app) -> set[tuple[str, str]]:
    keys = set()
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, routing.Mount):
            keys.add(("MOUNT", route.path))
        else:
            keys |= {(method, context.path) for method in route.methods - {"HEAD"}}
    return keys


def test_every_route_has_a_row(api):
    rows = [row.key for row in ROWS]
    assert len(rows) == len(set(rows)), "one row per route"
    assert set(rows) == _route_keys(api.app)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.method} {row.route}")
def test_only_the_allowed_callers_pass(api, db, row):
    outcomes, leaks = {}, {}
    for caller in CALLERS:
        world = build_world(db, api.app.state.object_store)
        response = _call(api, row, world, caller)
        outcomes[caller] = _outcome(response)
        if named := [key for key in world.unseen[caller] if key in response.text]:
            leaks[caller] = named
    assert outcomes == row.expected
    assert leaks == {}


def _snapshot(db: Session) -> dict[str, list[str]]:
    """Every row of every table, as text: what a refused write must leave exactly as it was."""
    db.expire_all()
    return {table.fullname: sorted(db.scalars(text(f'SELECT t::text FROM "{table.schema}"."{table.name}" t')))
            for table in Base.metadata.sorted_tables}


@pytest.mark.parametrize("row", [row for row in ROWS if row.method in UNSAFE and row.route.startswith(V1)],
                         ids=lambda row: f"{row.method} {row.route}")
def test_cookie_authenticated_writes_need_the_csrf_header(api, db, row):
    world = build_world(db, api.app.state.object_store)
    before = _snapshot(db)
    assert _outcome(_call(api, row, world, "user", csrf=False)) == (403, "CSRF_FAILED")
    assert _snapshot(db) == before
