"""Cloud settings from the environment: defaults, and the secret rule (generated on SQLite, required on PostgreSQL)."""

from __future__ import annotations

import pytest

from cloud.settings import CloudSettings, ConfigError


def test_defaults_need_nothing_installed(tmp_path):
    settings = CloudSettings.from_env({"PST_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'cloud.db'}" and settings.database == "sqlite"
    assert (settings.host, settings.port, settings.public_url) == ("127.0.0.1", 8100, "http://127.0.0.1:8100")
    assert settings.smtp_url is None and settings.demo is False


def test_a_missing_secret_is_generated_once_on_sqlite(tmp_path):
    settings = CloudSettings.from_env({"PST_DATA_DIR": str(tmp_path)})
    key = settings.signing_key()
    assert len(key) == 64 and settings.signing_key() == key
    assert (tmp_path / "cloud-secret.key").stat().st_mode & 0o777 == 0o600


def test_a_missing_secret_on_postgresql_is_an_error_naming_the_setting(tmp_path):
    settings = CloudSettings.from_env({"PST_DATA_DIR": str(tmp_path), "PST_CLOUD_DATABASE_URL": "postgresql://db/pst"})
    with pytest.raises(ConfigError, match="PST_CLOUD_SECRET"):
        settings.signing_key()
    assert not (tmp_path / "cloud-secret.key").exists()


@pytest.mark.parametrize("env, setting", [
    ({"PST_CLOUD_DATABASE_URL": "mysql://db/pst"}, "PST_CLOUD_DATABASE_URL"),
    ({"PST_CLOUD_DATABASE_URL": "sqlite://relative.db"}, "PST_CLOUD_DATABASE_URL"),
    ({"PST_CLOUD_PORT": "http"}, "PST_CLOUD_PORT"),
    ({"PST_CLOUD_SMTP_URL": "mail.example.id:25"}, "PST_CLOUD_SMTP_URL"),
    ({"PST_CLOUD_SECRET": "pendek"}, "PST_CLOUD_SECRET"),
])
def test_bad_settings_name_themselves(env, setting):
    with pytest.raises(ConfigError, match=setting):
        CloudSettings.from_env(env)


def test_serving_without_smtp_outside_the_demo_is_refused(tmp_path):
    from cloud.app import create_app

    with pytest.raises(ConfigError, match="PST_CLOUD_SMTP_URL"):
        create_app(CloudSettings.from_env({"PST_DATA_DIR": str(tmp_path)}))
