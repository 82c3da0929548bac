"""Settings: declared once, each field with its environment variable; building them writes nothing."""
from __future__ import annotations

from dataclasses import fields

from bot.settings import Settings


def test_a_bare_settings_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = Settings(), Settings(database_url="sqlite://")
    assert list(tmp_path.iterdir()) == []
    assert len(first.secret_key) == 64 and first.secret_key != second.secret_key


def test_each_variable_reaches_its_field_as_the_field_s_type(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({
        "WISHBOT_DATABASE_URL": "sqlite:///x.sqlite3", "WISHBOT_REDIS_URL": "redis://127.0.0.1:6379/3",
        "WECHAT_TOKEN": "t", "WECHAT_ENCODING_AES_KEY": "k" * 43, "WISHBOT_WECHAT_API_BASE": "http://127.0.0.1:9/",
        "WISHBOT_HTTP_TIMEOUT": "2.5", "WISHBOT_ROBOT_PER_MINUTE": "7", "WISHBOT_SECRET_KEY": "s3cret",
        "WISHBOT_TIMEZONE": "Asia/Urumqi", "WISHBOT_RELEASE_DAYS": "", "WISHBOT_DEMO": "1",
    })
    assert (settings.database_url, settings.redis_url, settings.wechat_token, settings.wechat_aes_key) == (
        "sqlite:///x.sqlite3", "redis://127.0.0.1:6379/3", "t", "k" * 43)
    assert settings.wechat_api_base == "http://127.0.0.1:9"
    assert (settings.http_timeout, settings.robot_per_minute) == (2.5, 7)
    assert (settings.secret_key, settings.timezone) == ("s3cret", "Asia/Urumqi")
    assert settings.release_days == 14  # empty is unset
    assert settings.demo is False  # only `wishbot demo` opens the simulator to everyone
    assert list(tmp_path.iterdir()) == []  # the key came from the environment


def test_without_a_secret_key_the_environment_s_settings_keep_one_in_instance(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = Settings.from_env({}), Settings.from_env({})
    assert first.secret_key == second.secret_key == (tmp_path / "instance" / "secret_key").read_text()


def test_every_variable_is_named_once():
    names = [spec.metadata["env"] for spec in fields(Settings) if "env" in spec.metadata]
    assert len(names) == len(set(names)) >= 25


def test_a_number_that_is_no_number_is_named_with_its_variable():
    import pytest

    with pytest.raises(ValueError) as refused:
        Settings.from_env({"WISHBOT_PROXY_HOPS": "abc"})
    assert str(refused.value) == "WISHBOT_PROXY_HOPS: 'abc' is not a number"
    with pytest.raises(ValueError) as refused:
        Settings.from_env({"WISHBOT_PROXY_HOPS": "-1"})
    assert str(refused.value) == "WISHBOT_PROXY_HOPS: -1 is not 0 or more"
