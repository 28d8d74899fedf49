"""The web app against the real API: a fresh migrated database, the API with uvicorn on a free port serving
the Vite build, and the browser tests (web/e2e/*.mjs, playwright-core driving Debian's chromium) run by node.
Most specs run on `web_stack`, without Ray; those that train and generate run on `ray_web_stack`, the same
stack on the session's Ray cluster with the tiny model."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy.orm import Session

from cluster.postgres import create_database, drop_database
from core import storage_keys
from core.contracts import GENERATION_APP_NAME
from core.provenance import sign_generated_image
from core.provenance_info import ProvenanceInfo
from core.settings import (
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    DiffusionSettings,
    Environment,
    LimitSettings,
    Settings,
    StorageSettings,
)
from core.signature import ArtistMark
from db.engine import create_sync_engine
from db.migrate import upgrade
from db.models import Generation
from platform_api.app import create_app
from tests.core.artwork import synthetic_artwork
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import tiny_training_recipe
from tests.stubs.oidc_provider import Identity, OidcProvider
from tests.stubs.server import BackgroundServer, free_port

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
DIST_INDEX = WEB / "dist" / "index.html"
# What the build is made from: newer than dist/index.html means the build is stale.
BUILD_INPUTS = ("src", "public", "index.html", "vite.config.js", "package-lock.json")
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = WEB / "e2e" / "screenshots"


def _newest_input() -> float:
    newest = 0.0
    for name in BUILD_INPUTS:
        path = WEB / name
        files = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def _npm(*args: str) -> None:
    subprocess.run(["npm", *args], cwd=WEB, check=True, timeout=600)


@pytest.fixture(scope="session")
def web_build() -> Path:
    """web/dist, built when missing or older than its sources (`make test` has built it already)."""
    if shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the web app (Node 20)")
    if not (WEB / "node_modules" / ".package-lock.json").exists():
        _npm("ci", "--no-audit", "--no-fund")
    if not DIST_INDEX.exists() or DIST_INDEX.stat().st_mtime < _newest_input():
        _npm("run", "build")
    return DIST_INDEX.parent


@dataclass
class WebStack:
    url: str
    settings: Settings
    app: object
    database_url: str


# Who the local OpenID provider signs in when the browser takes the "Continue with Google" button.
GOOGLE_IDENTITY = Identity(sub="google-4242", email="sora.google@example.com", name="Sora")


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """The local stand-in for Google (tests/stubs/oidc_provider.py): same protocol, no consent page."""
    port = free_port()
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}", next_identity=GOOGLE_IDENTITY)
    with BackgroundServer(provider.app(), port=port):
        yield provider


@contextmanager
def _running_stack(postgres_server_url: str, oidc_provider: OidcProvider, data: Path,
                   configure: Callable[[Settings], None] = lambda settings: None) -> Iterator[WebStack]:
    """The API serving the web build on a free port, with a database of its own, migrated, and Google
    sign-in going to the local OpenID provider; `configure` changes the settings before the app is made."""
    name = f"sl_test_web_{secrets.token_hex(4)}"
    database_url = create_database(postgres_server_url, name, exist_ok=False)
    upgrade(database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        # public_url: the dev checkout's redirects and the API's calls to its own dev Toss server go here.
        app=AppSettings(env=Environment.test, log_level="WARNING", data_dir=data / "data", run_reconcilers=False,
                        public_url=url),
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(local_dir=data / "objects"),
        auth=AuthSettings(
            google_client_id=oidc_provider.client_id,
            google_client_secret=oidc_provider.client_secret,
            oidc_discovery_url=f"{oidc_provider.issuer}/.well-known/openid-configuration",
        ),
        limits=LimitSettings(enabled=False),
    )
    configure(settings)
    app = create_app(settings)
    try:
        with BackgroundServer(app, port, lifespan=True):
            yield WebStack(url=url, settings=settings, app=app, database_url=database_url)
    finally:
        drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
def web_stack(web_build: Path, postgres_server_url: str, oidc_provider: OidcProvider, tmp_path_factory
              ) -> Iterator[WebStack]:
    with _running_stack(postgres_server_url, oidc_provider, tmp_path_factory.mktemp("web-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def ray_web_stack(web_build: Path, postgres_server_url: str, oidc_provider: OidcProvider, tiny_model: str,
                  ray_dashboard: str, tmp_path_factory) -> Iterator[WebStack]:
    """The stack on the session's Ray cluster: a style trains as a Ray Job on the tiny model (two epochs at
    64², a minute at most), and images are drawn in two steps by the generation app (`generation_app`)."""

    def on_ray(settings: Settings) -> None:
        settings.ray.dashboard_port = int(ray_dashboard.rsplit(":", 1)[1])
        settings.ray.job_python = sys.executable
        settings.ray.job_torch_threads = 1
        settings.ray.job_work_dir = str(settings.app.data_dir / "training-work")
        settings.diffusion = DiffusionSettings(base_model=tiny_model, inference_steps=2,
                                               training=tiny_training_recipe())

    with _running_stack(postgres_server_url, oidc_provider, tmp_path_factory.mktemp("ray-web-stack"),
                        configure=on_ray) as stack:
        _seed_ray_accounts(stack)
        yield stack


@pytest.fixture(scope="session")
def generation_app(ray_web_stack: WebStack) -> Iterator[None]:
    """The generation Serve app for `ray_web_stack`: Serve without an HTTP proxy (any port it might open is
    a free one, never 8000), the app deployed with a deadline."""
    from ray import serve

    from tests.serving.conftest import deploy_generation_app

    serve.start(proxy_location="Disabled", http_options={"host": "127.0.0.1", "port": free_port()})
    deploy_generation_app(ray_web_stack.settings)
    yield
    serve.delete(GENERATION_APP_NAME)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@contextmanager
def _database(stack: WebStack) -> Iterator[Session]:
    """A session on the stack's database, for seeding what a spec starts from."""
    engine = create_sync_engine(stack.database_url)
    try:
        with Session(engine, expire_on_commit=False) as db:
            yield db
    finally:
        engine.dispose()


def _signed_generation(stack: WebStack) -> bytes:
    """A generated image as the platform ships it: signed by 김민아's style, with content credentials."""
    with _database(stack) as db:
        artist = make_artist(db, artist_name="김민아")
        style = make_style(db, artist=artist, title="Watercolour Garden")
        generation = Generation(
            user_id=artist.user_id, style_id=style.id, status="completed", prompt_tags=["garden"], prompt="garden",
            aspect_ratio="1:1", width=512, height=512, seed=42, cost_tokens=10,
        )
        db.add(generation)
        db.commit()
    info = ProvenanceInfo(
        artist_id=artist.user_id, artist_name="김민아", style_id=style.id, style_title="Watercolour Garden",
        generation_id=generation.id, seed=42, created_at=datetime.now(UTC), platform="Style License",
        licence="Licensed style.",
    )
    return sign_generated_image(synthetic_artwork(512, 512, seed=9), info, mark=ArtistMark("김민아"),
                                keys=stack.app.state.provenance_keys).data


# The artist whose images fill the feed in the community test; signs in as this email to read notifications.
FEED_ARTIST_EMAIL = "harbour@example.com"


def _seed_feed(stack: WebStack) -> None:
    """A trained style with three public images, their files in the API's object store."""
    store = stack.app.state.object_store
    with _database(stack) as db:
        user = make_user(db, email=FEED_ARTIST_EMAIL, username="jiwoo_han", role="artist")
        artist = make_artist(db, user=user, artist_name="한지우")
        style = make_style(db, artist=artist, title="Ink Harbour", training_status="completed")
        generations = [
            make_generation(db, user=user, style=style, seed=seed, prompt_tags=["harbour", "boats"],
                            description=description)
            for seed, description in [(11, "Morning boats"), (12, "Lanterns on the pier"), (13, None)]
        ]
        for generation in generations:
            keys = storage_keys.generation(generation.id, "png")
            data = _png(synthetic_artwork(512, 512, seed=generation.seed))
            asyncio.run(store.put(keys.image, data, content_type="image/png", public=True))
            asyncio.run(store.put(keys.thumbnail, data, content_type="image/png", public=True))
            generation.result_key, generation.thumbnail_key = keys.image, keys.thumbnail
        style.thumbnail_key = generations[0].thumbnail_key
        db.commit()


# On ray_web_stack: the artist who creates a style in the training spec signs in as this email.
PAINTER_EMAIL = "painter@example.com"


def _seed_ray_accounts(stack: WebStack) -> None:
    """박미나, an artist with no style yet, and 서윤's trained style "Night Market" with a thumbnail and an
    adapter (random weights) where training puts one, to generate in."""
    from diffusers import UNet2DConditionModel

    from tests.serving.styles import adapter_key, random_adapter

    store = stack.app.state.object_store
    with _database(stack) as db:
        make_artist(db, user=make_user(db, email=PAINTER_EMAIL, username="mina_paints", role="artist"),
                    artist_name="박미나")
        seoyun = make_artist(db, user=make_user(db, username="seoyun_ink", role="artist"), artist_name="서윤")
        style = make_style(db, artist=seoyun, title="Night Market", training_status="completed")
        style.adapter_key = adapter_key(style.id)
        style.thumbnail_key = storage_keys.artwork(style.id, "png").thumbnail
        db.commit()
    thumbnail = io.BytesIO()
    synthetic_artwork(256, 256, seed=21).save(thumbnail, "WEBP")
    asyncio.run(store.put(style.thumbnail_key, thumbnail.getvalue(), content_type="image/webp", public=True))
    unet = UNet2DConditionModel.from_pretrained(stack.settings.diffusion.base_model, subfolder="unet")
    adapter = random_adapter(unet, seed=1)
    asyncio.run(store.put(style.adapter_key, adapter, content_type="application/octet-stream"))


@pytest.fixture(scope="session")
def upload_files(tmp_path_factory) -> Path:
    """The files the browser tests upload (`e2e_fixtures` adds a generation signed by `web_stack`)."""
    folder = tmp_path_factory.mktemp("e2e-fixtures")
    avatar = Image.new("RGB", (256, 256), (251, 191, 36))
    ImageDraw.Draw(avatar).ellipse((48, 48, 208, 208), fill=(120, 53, 15))
    (folder / "avatar.png").write_bytes(_png(avatar))
    signature = Image.new("RGBA", (360, 90), (0, 0, 0, 0))
    ImageDraw.Draw(signature).line([(10, 70), (90, 20), (150, 65), (230, 15), (340, 60)], fill=(20, 20, 20, 255), width=9)
    (folder / "signature.png").write_bytes(_png(signature))
    synthetic_artwork(640, 480, seed=3).save(folder / "plain.jpg", "JPEG", quality=90)
    (folder / "notes.txt").write_text("not an image\n")
    for index in range(10):
        synthetic_artwork(640, 640, seed=100 + index).save(folder / f"training-{index}.jpg", "JPEG", quality=85)
    synthetic_artwork(300, 300, seed=99).save(folder / "too-small.jpg", "JPEG", quality=85)
    return folder


@pytest.fixture(scope="session")
def e2e_fixtures(web_stack: WebStack, upload_files: Path) -> Path:
    """The upload files with a generation signed by `web_stack`, whose feed is seeded."""
    (upload_files / "signed.png").write_bytes(_signed_generation(web_stack))
    _seed_feed(web_stack)
    return upload_files


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Asked for before any stack, so a machine without the browser skips without building one."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs Debian's chromium and fonts-nanum")
    return CHROMIUM


def _spec_runner(stack: WebStack, fixtures: Path) -> Callable[[str], None]:
    """Runs `node web/e2e/<spec>.mjs <url>`; the spec's own log is the failure message. (Within pytest's
    300 s a test, the stack's setup included.)"""

    def run(spec: str) -> None:
        env = os.environ | {"E2E_FIXTURES": str(fixtures), "E2E_SCREENSHOTS": str(SCREENSHOTS)}
        result = subprocess.run(["node", f"e2e/{spec}.mjs", stack.url], cwd=WEB, env=env, capture_output=True,
                                text=True, timeout=240)
        assert result.returncode == 0, f"{spec} failed:\n{result.stdout}\n{result.stderr}"

    return run


@pytest.fixture(scope="session")
def run_browser_spec(chromium: Path, web_stack: WebStack, e2e_fixtures: Path) -> Callable[[str], None]:
    return _spec_runner(web_stack, e2e_fixtures)


@pytest.fixture(scope="session")
def run_browser_spec_on_ray(chromium: Path, ray_web_stack: WebStack, upload_files: Path
                            ) -> Callable[[str], None]:
    return _spec_runner(ray_web_stack, upload_files)
