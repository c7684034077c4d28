"""Secrets from files (Docker secrets): every secret setting also reads NAME_FILE."""

import pytest

from authsvc import config as settings

from .support import ADMIN_PASSWORD
from .support.checkout import checkout_env, run_shell

STRONG = "k" * 48


@pytest.mark.parametrize("name", settings.SECRET_SETTINGS)
def test_every_secret_setting_reads_its_file(tmp_path, name):
    path = tmp_path / name.lower()
    path.write_text("s3cret value\n\n")  # one trailing newline is stripped, not more
    values = settings.from_environment({f"{name}_FILE": str(path)})
    assert values[name] == "s3cret value\n"


def test_the_secret_settings_are_the_ones_carrying_secrets():
    names = set(settings.SECRET_SETTINGS)
    assert names <= set(settings.SETTINGS)
    assert {"SECRET_KEY", "SECRET_KEY_FALLBACKS", "PASSWORD_PEPPER", "FACTOR_KEYS", "MAIL_PASSWORD",
            "MAIL_FALLBACK_PASSWORD", "METRICS_TOKEN", "DATABASE_URL", "REDIS_URL", "REDIS_PASSWORD",
            "ALERT_WEBHOOK_URL"} == names  # a robot webhook URL carries its key
    # no other text setting is named like a secret
    suspicious = {name for name, (kind, _default) in settings.SETTINGS.items() if kind is str
                  and any(word in name for word in ("PASSWORD", "SECRET", "TOKEN", "KEY", "PEPPER"))}
    assert suspicious <= names | {"OIDC_SIGNING_KEYS"}  # paths of PEM files, which hold the keys


def test_a_windows_line_end_counts_as_one_newline(tmp_path):
    (tmp_path / "key").write_bytes(b"abc\r\n")
    assert settings.read_secret("SECRET_KEY", {"SECRET_KEY_FILE": str(tmp_path / "key")}) == "abc"


def test_both_set_is_an_error_naming_both(tmp_path):
    (tmp_path / "key").write_text(STRONG)
    with pytest.raises(RuntimeError, match="SECRET_KEY and SECRET_KEY_FILE are both set"):
        settings.from_environment({"SECRET_KEY": STRONG, "SECRET_KEY_FILE": str(tmp_path / "key")})


def test_an_empty_variable_beside_its_file_counts_as_unset(tmp_path):
    """docker-compose's env_file may say SECRET_KEY= while a secret gives SECRET_KEY_FILE."""
    (tmp_path / "key").write_text(STRONG + "\n")
    values = settings.from_environment({"SECRET_KEY": "", "SECRET_KEY_FILE": str(tmp_path / "key")})
    assert values["SECRET_KEY"] == STRONG


@pytest.mark.parametrize("problem", ["missing", "directory", "empty"])
def test_an_unreadable_file_is_a_clear_startup_error(tmp_path, problem):
    path = tmp_path / "mail_password"
    if problem == "directory":
        path.mkdir()
    elif problem == "empty":
        path.write_text("\n")
    expected = {"missing": "cannot be read: No such file or directory",
                "directory": "cannot be read: Is a directory", "empty": "is empty"}[problem]
    with pytest.raises(RuntimeError, match=f"MAIL_PASSWORD_FILE={path} {expected}"):
        settings.from_environment({"MAIL_PASSWORD_FILE": str(path)})


def test_production_still_refuses_a_weak_key_from_a_file(tmp_path):
    (tmp_path / "key").write_text("changeme\n")
    values = settings.from_environment({"AUTHSVC_ENV": "production",
                                        "SECRET_KEY_FILE": str(tmp_path / "key")})
    with pytest.raises(RuntimeError, match="known default"):
        settings.finalise(values, str(tmp_path))


@pytest.mark.slow
def test_a_production_process_starts_from_secret_files_alone(tmp_path, redis_url, database_url, migrated):
    """The real `flask` in production with SECRET_KEY, DATABASE_URL and REDIS_URL only as files."""
    secrets = {"SECRET_KEY": STRONG, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    files = {}
    for name, value in secrets.items():
        (tmp_path / name.lower()).write_text(value + "\n")
        files[f"{name}_FILE"] = str(tmp_path / name.lower())
    env = checkout_env(tmp_path / "instance", AUTHSVC_ENV="production", PUBLIC_URL="https://accounts.example.com", **files)
    result = run_shell(".venv/bin/flask --app wsgi invites list", env)
    assert result.returncode == 0, result.stderr
    (tmp_path / "redis_url").unlink()  # root reads any mode: a missing file stands for unreadable
    result = run_shell(".venv/bin/flask --app wsgi invites list", env)
    assert result.returncode != 0
    assert f"REDIS_URL_FILE={tmp_path / 'redis_url'} cannot be read" in result.stderr


def test_create_admin_reads_the_password_file(app, runner, api, tmp_path):
    (tmp_path / "admin_password").write_text(ADMIN_PASSWORD + "\n")
    command = ["create-admin", "--email", "root@example.com", "--username", "boss"]
    password_file = str(tmp_path / "admin_password")
    result = runner.invoke(args=command, env={"AUTHSVC_ADMIN_PASSWORD_FILE": password_file})
    assert result.exit_code == 0, result.output
    assert api.post("/sessions", json={"login": "boss", "password": ADMIN_PASSWORD}).status_code == 200
    both = runner.invoke(args=command, env={"AUTHSVC_ADMIN_PASSWORD": "x",
                                            "AUTHSVC_ADMIN_PASSWORD_FILE": password_file})
    assert both.exit_code != 0 and "AUTHSVC_ADMIN_PASSWORD and AUTHSVC_ADMIN_PASSWORD_FILE" in both.output
