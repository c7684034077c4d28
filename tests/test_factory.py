"""The app factory: settings from the environment, refusal of unsafe configurations."""

import json

import pytest

from authsvc import create_app
from authsvc.config import from_environment


def test_testing_config(app):
    assert app.config["TESTING"] and app.config["BCRYPT_ROUNDS"] == 4
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_settings_come_from_the_environment():
    values = from_environment({"CODE_TTL_LOGIN": "120", "CAPTCHA_ENABLED": "false",
                               "SEND_LIMIT_PER_IP": "5 per hour"})
    assert values["CODE_TTL_LOGIN"] == 120 and values["CAPTCHA_ENABLED"] is False
    assert values["SEND_LIMIT_PER_IP"] == "5 per hour" and values["CODE_TTL_RESET"] == 1800


def test_bad_setting_value_is_reported():
    with pytest.raises(RuntimeError, match="CODE_TTL_LOGIN"):
        from_environment({"CODE_TTL_LOGIN": "five"})


@pytest.mark.parametrize("secret", [None, "", "dev", "changeme", "short-key"])
def test_production_refuses_missing_or_weak_secret(base_config, secret):
    config = dict(base_config, AUTHSVC_ENV="production", SECRET_KEY=secret, CAPTCHA_FIXED_TEXT=None,
                  BCRYPT_ROUNDS=12)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_fixed_captcha_text_is_refused_outside_testing(base_config):
    config = dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48, BCRYPT_ROUNDS=12)
    with pytest.raises(RuntimeError, match="CAPTCHA_FIXED_TEXT"):
        create_app(config)


def test_cheap_bcrypt_is_refused_in_production(base_config):
    config = dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48, CAPTCHA_FIXED_TEXT=None,
                  BCRYPT_ROUNDS=4)
    with pytest.raises(RuntimeError, match="BCRYPT_ROUNDS"):
        create_app(config)


def test_production_defaults(base_config):
    app = create_app(dict(base_config, AUTHSVC_ENV="production", SECRET_KEY="p" * 48,
                          CAPTCHA_FIXED_TEXT=None, BCRYPT_ROUNDS=10))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not app.debug
    response = app.test_client().get("/healthz")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_unknown_mode_is_refused(base_config):
    with pytest.raises(RuntimeError, match="REGISTRATION_MODE"):
        create_app(dict(base_config, REGISTRATION_MODE="sometimes"))


def test_captcha_off_logs_a_warning(base_config, capsys):
    create_app(dict(base_config, CAPTCHA_ENABLED=False))
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert any(e["level"] == "WARNING" and "CAPTCHA_ENABLED=false" in e["msg"] for e in lines)


def test_embedded_redis_when_no_url(base_config, tmp_path):
    app = create_app(dict(base_config, REDIS_URL=None, INSTANCE_PATH=str(tmp_path)))
    assert app.config["REDIS_URL"].startswith("unix://")
    with app.app_context():
        assert app.extensions["authsvc.redis"].ping()
    response = app.test_client().post("/api/v1/captcha")
    assert response.status_code == 201
