"""Settings from the environment: defaults, integers, and clear errors for values the service cannot use."""

from __future__ import annotations

import pytest

from unstract.config import ConfigError, read_settings


def test_defaults_need_no_environment(tmp_path):
    settings = read_settings({"UNSTRACT_DATA_DIR": str(tmp_path)})
    assert settings.file_batch_size == 16
    assert settings.file_lease_seconds == 120
    assert settings.database_url == f"sqlite:///{tmp_path / 'unstract.db'}"


def test_file_batch_size_is_read_and_must_be_positive(tmp_path):
    env = {"UNSTRACT_DATA_DIR": str(tmp_path)}
    assert read_settings({**env, "UNSTRACT_FILE_BATCH_SIZE": "1"}).file_batch_size == 1
    with pytest.raises(ConfigError, match="UNSTRACT_FILE_BATCH_SIZE must be at least 1, got 0."):
        read_settings({**env, "UNSTRACT_FILE_BATCH_SIZE": "0"})


def test_a_non_integer_names_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="UNSTRACT_FILE_LEASE_SECONDS must be an integer, got 'soon'."):
        read_settings({"UNSTRACT_DATA_DIR": str(tmp_path), "UNSTRACT_FILE_LEASE_SECONDS": "soon"})


def test_booleans_accept_words_and_refuse_anything_else(tmp_path):
    env = {"UNSTRACT_DATA_DIR": str(tmp_path)}
    assert read_settings({**env, "UNSTRACT_SECURE_COOKIES": "true"}).secure_cookies is True
    assert read_settings({**env, "UNSTRACT_SECURE_COOKIES": "1"}).secure_cookies is True
    assert read_settings({**env, "UNSTRACT_SYNC_WAKEUPS": "off"}).sync_wakeups is False
    assert read_settings(env).sync_wakeups is True
    with pytest.raises(ConfigError, match="UNSTRACT_SECURE_COOKIES must be true or false, got 'maybe'."):
        read_settings({**env, "UNSTRACT_SECURE_COOKIES": "maybe"})


def test_lists_are_comma_separated_and_external_url_loses_its_trailing_slash(tmp_path):
    settings = read_settings(
        {
            "UNSTRACT_DATA_DIR": str(tmp_path),
            "UNSTRACT_TRUSTED_HOSTS": " api.example.com, ,localhost ",
            "UNSTRACT_TRUSTED_PROXIES": "10.0.0.0/8",
            "UNSTRACT_EXTERNAL_URL": "https://unstract.example.com/",
        }
    )
    assert settings.trusted_hosts == ["api.example.com", "localhost"]
    assert settings.trusted_proxies == ["10.0.0.0/8"]
    assert settings.external_url == "https://unstract.example.com"
