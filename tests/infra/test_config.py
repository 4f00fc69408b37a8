"""Settings: environment parsing and the checks that fail early, naming the variable."""

from __future__ import annotations

import pytest

from server.config import ConfigError, Settings

KEY = {"SECRET_KEY": "x" * 16, "AUDIT_SIGNING_KEY": "A" * 43 + "="}


def test_defaults_are_the_embedded_mode():
    s = Settings.from_env(KEY)
    assert s.mongodb_uri == "mongodb://127.0.0.1:27117/safety"
    assert s.mongodb_database == "safety"
    assert (s.host, s.port) == ("127.0.0.1", 8000)
    assert s.receipt_horizon_days == 30


def test_environment_overrides():
    s = Settings.from_env(
        {**KEY, "PORT": "9000", "MONGODB_URI": "mongodb://db:27017/prod?replicaSet=rs0"}
    )
    assert s.port == 9000
    assert s.mongodb_database == "prod"


def test_cors_origins_are_a_comma_separated_list_empty_by_default():
    assert Settings.from_env(KEY).cors_origins == ()
    s = Settings.from_env(
        {**KEY, "CORS_ORIGINS": " capacitor://localhost, https://App.Example.cn:8443 ,"}
    )
    assert s.cors_origins == ("capacitor://localhost", "https://app.example.cn:8443")
    assert Settings.from_env({**KEY, "CORS_ORIGINS": "*"}).cors_origins == ("*",)


@pytest.mark.parametrize(
    "env,message",
    [
        ({}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 16}, "AUDIT_SIGNING_KEY"),
        ({**KEY, "AUDIT_SIGNING_KEY": "not base64!"}, "AUDIT_SIGNING_KEY"),
        ({**KEY, "AUDIT_SIGNING_KEY": "AAAA"}, "AUDIT_SIGNING_KEY"),  # 3 bytes, not 32
        ({**KEY, "PORT": "eighty"}, "PORT must be an integer"),
        ({**KEY, "PORT": "70000"}, "PORT must be 1-65535"),
        ({**KEY, "MONGODB_URI": "postgres://x"}, "MONGODB_URI"),
        ({**KEY, "REDIS_URL": "http://x"}, "REDIS_URL"),
        ({**KEY, "LOGIN_RATE_LIMIT": "lots"}, "LOGIN_RATE_LIMIT"),
        ({**KEY, "PUBLIC_REPORT_RATE_LIMIT": "lots"}, "PUBLIC_REPORT_RATE_LIMIT"),
        ({**KEY, "PUBLIC_REPORT_MAX_PHOTOS": "21"}, "PUBLIC_REPORT_MAX_PHOTOS"),
        ({**KEY, "PUBLIC_REPORT_MAX_PHOTO_BYTES": "0"}, "PUBLIC_REPORT_MAX_PHOTO_BYTES"),
        ({**KEY, "PASSWORD_HASH_PROFILE": "FAST"}, "PASSWORD_HASH_PROFILE"),
        ({**KEY, "RECEIPT_HORIZON_DAYS": "0"}, "RECEIPT_HORIZON_DAYS"),
        ({**KEY, "RECEIPT_HORIZON_DAYS": "3"}, "cover TOKEN_TTL_HOURS"),  # tokens last 7 days
        ({**KEY, "RECEIPT_HORIZON_DAYS": "4000"}, "RECEIPT_HORIZON_DAYS"),
        ({**KEY, "CORS_ORIGINS": "https://app.example.cn/"}, "CORS_ORIGINS.*no path"),
        ({**KEY, "CORS_ORIGINS": "app.example.cn"}, "CORS_ORIGINS.*scheme://host"),
        ({**KEY, "CORS_ORIGINS": "https://a.example, *"}, "CORS_ORIGINS.*alone"),
    ],
)
def test_bad_settings_fail_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
