"""Settings: embedded defaults for development, and production refusing every unsafe default."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import (
    DEVELOPMENT_MODELS,
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    DiffusionSettings,
    Environment,
    ObservabilitySettings,
    PaymentProvider,
    PaymentSettings,
    ProvenanceSettings,
    Settings,
    StorageBackend,
    StorageSettings,
    get_settings,
)
from tests.helpers import production_settings

STRONG = "x" * 48


def test_development_defaults_need_nothing_configured(monkeypatch):
    for name in ("DATABASE_URL", "SL_ENV", "SL_PORT", "RAY_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.app.env is Environment.development
    assert settings.app.port == 8000
    assert settings.database.url is None
    assert settings.auth.dev_login is True


def test_environment_variables_are_read(monkeypatch):
    monkeypatch.setenv("SL_PORT", "9123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://somewhere/db")
    monkeypatch.setenv("SL_STORAGE", "s3-local")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = Settings()
    assert settings.app.port == 9123
    assert settings.database.url == "postgresql://somewhere/db"
    assert settings.storage.backend == "s3-local"
    assert settings.limits.redis_url == "redis://127.0.0.1:6379/0"


def test_get_settings_is_shared():
    assert get_settings() is get_settings()


def test_safe_production_settings_are_accepted():
    assert production_settings().is_production


@pytest.mark.parametrize(
    ("override", "complaint"),
    [
        ({"app": AppSettings(env=Environment.production)}, "SL_SECRET_KEY"),
        ({"auth": AuthSettings(dev_login=True, session_cookie_secure=True, internal_api_token=STRONG)}, "DEV_LOGIN"),
        ({"auth": AuthSettings(dev_login=False, session_cookie_secure=False, internal_api_token=STRONG)}, "COOKIE_SECURE"),
        ({"auth": AuthSettings(dev_login=False, session_cookie_secure=True)}, "INTERNAL_API_TOKEN"),
        ({"payments": PaymentSettings(provider=PaymentProvider.dev)}, "PAYMENTS_PROVIDER"),
        ({"payments": PaymentSettings(provider=PaymentProvider.toss)}, "TOSS_SECRET_KEY"),
        ({"database": DatabaseSettings(url=None)}, "DATABASE_URL"),
        ({"storage": StorageSettings()}, "SL_STORAGE_URL_SIGNING_KEY"),
        ({"provenance": ProvenanceSettings(watermark_key=STRONG)}, "C2PA_CERTIFICATE_CHAIN_PATH"),
        ({"provenance": ProvenanceSettings(
            c2pa_certificate_chain_path=Path("chain.pem"), c2pa_private_key_path=Path("key.pem"),
            c2pa_trust_anchors_path=Path("anchors.pem"),
        )}, "SL_PROVENANCE_WATERMARK_KEY"),
        ({"observability": ObservabilitySettings(metrics_token="short")}, "SL_METRICS_TOKEN"),
        *[({"diffusion": DiffusionSettings(base_model=model)}, f"SL_BASE_MODEL must name .* not .* {model} model")
          for model in DEVELOPMENT_MODELS],
    ],
)
def test_production_refuses_unsafe_defaults(override, complaint):
    with pytest.raises(ValidationError, match=complaint):
        production_settings(**override)


def test_the_local_url_signing_key_matters_only_for_the_local_store():
    assert production_settings(storage=StorageSettings(backend=StorageBackend.s3)).is_production
