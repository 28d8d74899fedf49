"""Settings, one small class per concern, read from the environment (and `.env`).

Names follow the ecosystem where one exists (DATABASE_URL, REDIS_URL, RAY_ADDRESS, INTERNAL_API_TOKEN,
GOOGLE_CLIENT_ID...); everything else of ours starts with SL_. `.env.example` lists them all.
Production refuses the conveniences that make the embedded run work (see `Settings.refuse_unsafe_production`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.training_recipe import TrainingRecipe

DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_INTERNAL_API_TOKEN = "dev-internal-token-change-me"
DEV_STORAGE_URL_SIGNING_KEY = "dev-storage-url-signing-key-change-me"
DEV_WATERMARK_KEY = "dev-watermark-key-change-me"


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)


class AppSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_", env_file=".env", extra="ignore")

    env: Environment = Environment.development
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://localhost:8000"
    secret_key: str = DEV_SECRET_KEY
    data_dir: Path = Path(".data")
    log_level: str = "INFO"
    # The periodic reconcilers (pending payments, lost work); tests run passes by hand instead.
    run_reconcilers: bool = True
    # Bodies larger than these are refused with 413 before they are read to the end.
    max_json_body_bytes: int = 1 * 1024 * 1024
    # A style upload carries up to 100 images of 10 MB each plus form fields.
    max_multipart_body_bytes: int = 1024 * 1024 * 1024 + 8 * 1024 * 1024
    # A body that stops arriving for this long is refused with 408: a stalled upload would otherwise hold one
    # of the replica's request slots until the proxy's request timeout.
    body_stall_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    # How long an anonymous page of a public list (feed, styles, search) is served from this replica's copy.
    public_read_cache_seconds: float = Field(default=1.0, ge=0, le=60)
    # The load balancers and ingress in front of the API (addresses or networks, comma-separated): their
    # X-Forwarded-For names the caller, whose address per-address rate limits and sign-in records use.
    # Unset: the caller is whoever connects (behind a balancer, the balancer).
    trusted_proxies: str = ""


class DatabaseSettings(_Section):
    # Unset: the launcher starts an embedded PostgreSQL under SL_DATA_DIR and fills this in.
    url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "SL_DATABASE_URL"))
    pool_size: int = Field(default=10, validation_alias="SL_DB_POOL_SIZE")
    max_overflow: int = Field(default=20, validation_alias="SL_DB_MAX_OVERFLOW")
    statement_timeout_ms: int = Field(default=15_000, validation_alias="SL_DB_STATEMENT_TIMEOUT_MS")


class StorageBackend(StrEnum):
    local = "local"
    s3 = "s3"
    s3_local = "s3-local"  # a SeaweedFS server started by the launcher


class StorageSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_STORAGE_", env_file=".env", extra="ignore")

    backend: StorageBackend = Field(default=StorageBackend.local, validation_alias="SL_STORAGE")
    local_dir: Path = Path(".data/objects")
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_bucket: str = "style-license"
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    presigned_url_ttl_seconds: int = 3600
    # Where public objects are served from without a signature (a CDN or a bucket policy on `public/`).
    # Unset: public objects get presigned URLs too.
    s3_public_base_url: str | None = None
    # The local backend's URLs: the API serves them under this path; private ones carry an HMAC signature.
    local_url_prefix: str = "/media"
    url_signing_key: str = DEV_STORAGE_URL_SIGNING_KEY


class GeneratedImageFormat(StrEnum):
    png = "png"
    jpeg = "jpeg"


class ProvenanceSettings(_Section):
    """What signs generated images (C2PA certificate, watermark key) and what they say about themselves."""

    model_config = SettingsConfigDict(env_prefix="SL_PROVENANCE_", env_file=".env", extra="ignore")

    platform_name: str = "Style License"
    licence_text: str = (
        "Generated with a licensed artist style on Style License. The artist keeps all rights to the style; "
        "use of this image is governed by the Style License terms."
    )
    generated_image_format: GeneratedImageFormat = GeneratedImageFormat.png
    # PEM files. Unset outside production: a development CA and signing certificate are generated on first
    # run under SL_DATA_DIR/c2pa and trusted by this platform's verifier only.
    c2pa_certificate_chain_path: Path | None = None  # the signing certificate first, then its intermediates
    c2pa_private_key_path: Path | None = None
    c2pa_trust_anchors_path: Path | None = None  # roots whose signatures verify as "trusted"
    c2pa_timestamp_url: str | None = None
    # Keys the invisible watermark: changing it makes earlier watermarks unreadable.
    watermark_key: str = DEV_WATERMARK_KEY


# Models of development (core/diffusion/development.py builds them), named here so settings can refuse them in
# production: tiny models of both families for development and tests, trained only to draw colour fields, and the
# full-size architectures ("shapes") with random weights for benchmarks.
DEVELOPMENT_MODEL = "tiny"
DEVELOPMENT_MODELS = (DEVELOPMENT_MODEL, "tiny-xl", "sd15-shape", "sdxl-shape")
DEVELOPMENT_NOTICE = (
    "Using {model}, a development model: it runs every step of the real pipeline but draws only colour fields "
    "(or noise). Set SL_BASE_MODEL to a Stable Diffusion 1.x or SDXL base for real images."
)


class Precision(StrEnum):
    """The dtype the base model runs in on a GPU (a CPU always runs fp32: it has no fast half precision)."""

    auto = "auto"  # bf16 where the GPU has it (Ampere and later), else fp16
    bf16 = "bf16"
    fp16 = "fp16"
    fp32 = "fp32"


class DiffusionSettings(_Section):
    """The base model, and the server-side knobs of training and generation (users never choose these)."""

    # Nested fields by "__": SL_DIFFUSION_TRAINING__EPOCHS=12, SL_DIFFUSION_TRAINING__SDXL__BATCH_SIZE=4.
    model_config = SettingsConfigDict(env_prefix="SL_DIFFUSION_", env_file=".env", extra="ignore",
                                      env_nested_delimiter="__")

    # A Stable Diffusion 1.x or SDXL base: a diffusers folder, a hub id, or one .safetensors/.ckpt file; or one
    # of DEVELOPMENT_MODELS (refused in production: they draw colour fields or noise).
    base_model: str = Field(default=DEVELOPMENT_MODEL, validation_alias="SL_BASE_MODEL")
    precision: Precision = Precision.auto
    inference_steps: int = Field(default=30, ge=1, le=150)
    guidance_scale: float = Field(default=7.0, ge=0.0, le=30.0)
    training: TrainingRecipe = TrainingRecipe()


class GenerationSettings(_Section):
    """How the API runs generations: retries (spec §6.6.5), leases and progress."""

    model_config = SettingsConfigDict(env_prefix="SL_GENERATION_", env_file=".env", extra="ignore")

    # Delay before each try: the first at once, then 30 s, then 120 s; charged once whatever happens.
    retry_delays_seconds: list[float] = [0.0, 30.0, 120.0]
    # A dispatcher renews its lease while it streams; an expired lease means it died and the work is retried.
    lease_seconds: float = 60.0
    attempt_timeout_seconds: float = 600.0
    progress_write_interval_seconds: float = 1.0
    # The ETA of a queued generation before there is any history to measure.
    default_seconds_per_image: float = 10.0

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays_seconds)


class RaySettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_RAY_", env_file=".env", extra="ignore")

    # Unset: the launcher starts a local head; production points at the cluster (or KubeRay service).
    address: str | None = Field(default=None, validation_alias="RAY_ADDRESS")
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8265
    # 6379 is taken by Redis on many machines.
    gcs_port: int = 6390
    generation_num_gpus: float = 1.0
    training_num_gpus: float = 1.0
    # The interpreter that runs training jobs on the cluster's nodes.
    job_python: str = "python"
    # Where a training job keeps its images and checkpoints on the node (unset: the system temp dir).
    job_work_dir: str | None = None
    # Where a node builds the tiny development model when SL_BASE_MODEL=tiny (unset: the system temp dir).
    job_models_dir: str | None = None
    # Threads torch may use inside a training job (unset: torch decides).
    job_torch_threads: int | None = None
    # Where training shares its CPUs with the API (`make run`): jobs run this nice (0-19), after its requests.
    job_niceness: int = Field(default=0, ge=0, le=19)
    # Where Ray work calls the API back (progress, completion). Unset: SL_PUBLIC_URL.
    callback_url: str | None = None

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.dashboard_host}:{self.dashboard_port}"


class AuthSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_AUTH_", env_file=".env", extra="ignore")

    google_client_id: str | None = Field(default=None, validation_alias="GOOGLE_CLIENT_ID")
    google_client_secret: str | None = Field(default=None, validation_alias="GOOGLE_CLIENT_SECRET")
    oidc_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    dev_login: bool = True
    session_cookie_name: str = "sl_session"
    session_cookie_secure: bool = False
    session_lifetime_seconds: int = 14 * 24 * 3600
    frontend_url: str = "/"
    internal_api_token: str = Field(default=DEV_INTERNAL_API_TOKEN, validation_alias="INTERNAL_API_TOKEN")


class PaymentProvider(StrEnum):
    dev = "dev"  # the local Toss-compatible server; refused in production
    toss = "toss"


class PaymentSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_PAYMENTS_", env_file=".env", extra="ignore")

    provider: PaymentProvider = PaymentProvider.dev
    # Unset: Toss's API for `toss`; the local Toss server mounted at /_dev/toss for `dev`.
    toss_api_base: str | None = None
    toss_client_key: str | None = Field(default=None, validation_alias="TOSS_CLIENT_KEY")
    toss_secret_key: str | None = Field(default=None, validation_alias="TOSS_SECRET_KEY")
    currency: Literal["KRW", "USD"] = "KRW"
    # The artist's share of a generation's price (the MVP pays artists 100 %).
    artist_share: float = Field(default=1.0, ge=0.0, le=1.0)


class LimitSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_LIMITS_", env_file=".env", extra="ignore")

    # Unset: limits are counted in process memory (one API process only).
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    key_prefix: str = "sl-limits"
    enabled: bool = True
    sign_in: str = "5/5 minutes"
    verify: str = "10/minute"
    generation: str = "6/minute"
    authenticated: str = "100/minute"
    anonymous: str = "50/minute"


class ObservabilitySettings(_Section):
    """Prometheus metrics at /metrics and error reports to Sentry; both off until configured."""

    # Unset: /metrics answers 404. Set: Prometheus sends it as `Authorization: Bearer <token>`.
    metrics_token: str | None = Field(default=None, validation_alias="SL_METRICS_TOKEN")
    # The business gauges (work in flight, queue depth, training runs) are read from PostgreSQL at most
    # this often, however many scrapers ask.
    metrics_state_cache_seconds: float = Field(default=15.0, ge=0, le=300,
                                               validation_alias="SL_METRICS_STATE_CACHE_SECONDS")
    sentry_dsn: str | None = Field(default=None, validation_alias="SENTRY_DSN")
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1, validation_alias="SL_SENTRY_TRACES_SAMPLE_RATE")


class Settings(BaseSettings):
    """Everything, grouped. Build with `get_settings()`; tests build their own."""

    model_config = SettingsConfigDict(extra="ignore")

    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    provenance: ProvenanceSettings = Field(default_factory=ProvenanceSettings)
    diffusion: DiffusionSettings = Field(default_factory=DiffusionSettings)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)

    @property
    def is_production(self) -> bool:
        return self.app.env is Environment.production

    @model_validator(mode="after")
    def _objects_under_the_data_dir(self) -> Settings:
        # Unless set on its own, local storage lives in SL_DATA_DIR like everything else the platform keeps.
        if "local_dir" not in self.storage.model_fields_set:
            self.storage.local_dir = self.app.data_dir / "objects"
        return self

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> Settings:
        if not self.is_production:
            return self
        problems = unsafe_production_settings(self)
        if problems:
            raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self


def _is_weak_secret(value: str, development_default: str) -> bool:
    return value == development_default or len(value) < 32


def unsafe_production_settings(settings: Settings) -> list[str]:
    """What would make a production deployment unsafe; empty when it is fine."""
    problems = []
    if _is_weak_secret(settings.app.secret_key, DEV_SECRET_KEY):
        problems.append("SL_SECRET_KEY must be set to a random value of at least 32 characters")
    if _is_weak_secret(settings.auth.internal_api_token, DEV_INTERNAL_API_TOKEN):
        problems.append("INTERNAL_API_TOKEN must be set to a random value of at least 32 characters")
    if settings.auth.dev_login:
        problems.append("SL_AUTH_DEV_LOGIN must be false")
    if not settings.auth.session_cookie_secure:
        problems.append("SL_AUTH_SESSION_COOKIE_SECURE must be true")
    if settings.payments.provider is PaymentProvider.dev:
        problems.append("SL_PAYMENTS_PROVIDER must be toss")
    elif not (settings.payments.toss_secret_key and settings.payments.toss_client_key):
        problems.append("TOSS_SECRET_KEY and TOSS_CLIENT_KEY must be set")
    if not settings.database.url:
        problems.append("DATABASE_URL must point at a managed PostgreSQL")
    storage = settings.storage
    local_urls_signed_weakly = _is_weak_secret(storage.url_signing_key, DEV_STORAGE_URL_SIGNING_KEY)
    if storage.backend is StorageBackend.local and local_urls_signed_weakly:
        problems.append("SL_STORAGE_URL_SIGNING_KEY must be set to a random value of at least 32 characters")
    provenance = settings.provenance
    if not (provenance.c2pa_certificate_chain_path and provenance.c2pa_private_key_path
            and provenance.c2pa_trust_anchors_path):
        problems.append(
            "SL_PROVENANCE_C2PA_CERTIFICATE_CHAIN_PATH, SL_PROVENANCE_C2PA_PRIVATE_KEY_PATH and "
            "SL_PROVENANCE_C2PA_TRUST_ANCHORS_PATH must point at the platform's signing certificate"
        )
    if _is_weak_secret(provenance.watermark_key, DEV_WATERMARK_KEY):
        problems.append("SL_PROVENANCE_WATERMARK_KEY must be set to a random value of at least 32 characters")
    if settings.diffusion.base_model in DEVELOPMENT_MODELS:
        problems.append("SL_BASE_MODEL must name a Stable Diffusion base model, not the "
                        f"{settings.diffusion.base_model} model of development")
    metrics_token = settings.observability.metrics_token
    if metrics_token is not None and len(metrics_token) < 32:
        problems.append("SL_METRICS_TOKEN, when set, must be a random value of at least 32 characters")
    return problems


def shared_environment(settings: Settings) -> dict[str, str]:
    """The environment another process (a training job, a generation replica) needs to read the same
    storage, data directory and base model as this one. Production nodes get it from their own environment."""
    storage = settings.storage
    values = {
        "SL_DATA_DIR": str(settings.app.data_dir.resolve()),
        "SL_BASE_MODEL": settings.diffusion.base_model,
        "SL_DIFFUSION_PRECISION": settings.diffusion.precision.value,
        "SL_STORAGE": storage.backend.value,
        "SL_STORAGE_LOCAL_DIR": str(storage.local_dir.resolve()),
        "SL_STORAGE_S3_ENDPOINT_URL": storage.s3_endpoint_url,
        "SL_STORAGE_S3_BUCKET": storage.s3_bucket,
        "SL_STORAGE_S3_REGION": storage.s3_region,
        "SL_STORAGE_S3_ACCESS_KEY_ID": storage.s3_access_key_id,
        "SL_STORAGE_S3_SECRET_ACCESS_KEY": storage.s3_secret_access_key,
    }
    return {name: value for name, value in values.items() if value}


# What the settings read besides the SL_ variables: names the ecosystem already uses.
ECOSYSTEM_VARIABLES = frozenset({
    "DATABASE_URL", "REDIS_URL", "RAY_ADDRESS", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "INTERNAL_API_TOKEN",
    "TOSS_CLIENT_KEY", "TOSS_SECRET_KEY", "SENTRY_DSN",
})


def settings_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables of `environ` that configure the platform: what a process started elsewhere (an API
    replica on the local Ray head) needs to read the same Settings as this one."""
    return {name: value for name, value in environ.items() if name.startswith("SL_") or name in ECOSYSTEM_VARIABLES}


@lru_cache
def get_settings() -> Settings:
    return Settings()
