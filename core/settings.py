"""Settings, one small class per concern, read from the environment (and `.env`).

Names follow the ecosystem where one exists (DATABASE_URL, REDIS_URL, RAY_ADDRESS, INTERNAL_API_TOKEN,
GOOGLE_CLIENT_ID...); everything else of ours starts with SL_. `.env.example` lists them all.
Production refuses the conveniences that make the embedded run work (see `Settings.refuse_unsafe_production`).
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-secret-key-change-me"
DEV_INTERNAL_API_TOKEN = "dev-internal-token-change-me"


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
    # Bodies larger than these are refused with 413 before they are read to the end.
    max_json_body_bytes: int = 1 * 1024 * 1024
    # A style upload carries up to 100 images of 10 MB each plus form fields.
    max_multipart_body_bytes: int = 1024 * 1024 * 1024 + 8 * 1024 * 1024


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
    toss_api_base: str = "https://api.tosspayments.com"
    toss_client_key: str | None = Field(default=None, validation_alias="TOSS_CLIENT_KEY")
    toss_secret_key: str | None = Field(default=None, validation_alias="TOSS_SECRET_KEY")
    currency: str = "KRW"


class LimitSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SL_LIMITS_", env_file=".env", extra="ignore")

    # Unset: limits are counted in process memory (one API process only).
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    enabled: bool = True
    sign_in: str = "5/5 minutes"
    generation: str = "6/minute"
    authenticated: str = "100/minute"
    anonymous: str = "50/minute"


class Settings(BaseSettings):
    """Everything, grouped. Build with `get_settings()`; tests build their own."""

    model_config = SettingsConfigDict(extra="ignore")

    app: AppSettings = Field(default_factory=AppSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)
    ray: RaySettings = Field(default_factory=RaySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    payments: PaymentSettings = Field(default_factory=PaymentSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)

    @property
    def is_production(self) -> bool:
        return self.app.env is Environment.production

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> Settings:
        if not self.is_production:
            return self
        problems = unsafe_production_settings(self)
        if problems:
            raise ValueError("unsafe settings for production: " + "; ".join(problems))
        return self


def unsafe_production_settings(settings: Settings) -> list[str]:
    """What would make a production deployment unsafe; empty when it is fine."""
    problems = []
    if settings.app.secret_key == DEV_SECRET_KEY or len(settings.app.secret_key) < 32:
        problems.append("SL_SECRET_KEY must be set to a random value of at least 32 characters")
    if settings.auth.internal_api_token == DEV_INTERNAL_API_TOKEN or len(settings.auth.internal_api_token) < 32:
        problems.append("INTERNAL_API_TOKEN must be set to a random value of at least 32 characters")
    if settings.auth.dev_login:
        problems.append("SL_AUTH_DEV_LOGIN must be false")
    if not settings.auth.session_cookie_secure:
        problems.append("SL_AUTH_SESSION_COOKIE_SECURE must be true")
    if settings.payments.provider is PaymentProvider.dev:
        problems.append("SL_PAYMENTS_PROVIDER must be toss")
    if not settings.database.url:
        problems.append("DATABASE_URL must point at a managed PostgreSQL")
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
