"""The README's commands work when pasted, in order, in a fresh checkout after `make run`'s
set-up: the real `flask` command in a subprocess, a fresh instance folder, the embedded Redis
server a checkout starts, and a real SMTP server (aiosmtpd) where mail is sent."""

import re

import pytest

from authsvc.services.captcha_image import ALPHABET

from .support.checkout import ROOT, checkout_env, commands, make_recipe, run_shell, sh_blocks

README = (ROOT / "README.md").read_text()
ADMIN_PASSWORD = "a long admin passphrase"


def readme_cli_commands():
    return [line for block in sh_blocks(README) for line in commands(block)
            if "flask --app wsgi" in line]


def test_the_readme_prints_the_admin_commands():
    printed = " ".join(readme_cli_commands())
    for command in ("create-admin", "invites create", "invites list", "audit prune", "send-test-mail"):
        assert f".venv/bin/flask --app wsgi {command}" in printed


@pytest.mark.slow
def test_readme_cli_commands_work_when_pasted_in_a_fresh_checkout(tmp_path, smtp_server):
    instance = tmp_path / "instance"
    env = checkout_env(instance, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp_server.port),
                       MAIL_USE_SSL="false", MAIL_DEFAULT_SENDER="noreply@example.com",
                       AUTHSVC_ADMIN_PASSWORD=ADMIN_PASSWORD)
    setup = [line for line in make_recipe("run") if "db upgrade" in line]
    assert len(setup) == 1
    outputs = {}
    for command in setup + readme_cli_commands():
        result = run_shell(command, env)
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        outputs[command] = result.stdout
    by_name = {re.search(r"wsgi ((?:invites|audit|db) [a-z]+|[a-z-]+)", command).group(1): out
               for command, out in outputs.items()}
    assert by_name["create-admin"].startswith("created admin boss <root@example.com>")
    codes = by_name["invites create"].split()
    assert len(codes) == 10
    assert all(f"{code}\t0/1\tactive\t2030-12-31" in by_name["invites list"] for code in codes)
    assert by_name["audit prune"].startswith("deleted 0 events older than 180 days")
    assert by_name["send-test-mail"].startswith("delivered: accepted by the primary SMTP server")
    assert any(m["to"] == ["you@example.com"] for m in smtp_server.recorder.messages)
    # every command stopped the embedded Redis server it started
    assert not (instance / "redis.db.settings").exists()


def test_the_readme_captcha_answers_use_the_captcha_alphabet():
    answers = re.findall(r'"captcha_answer": "([^"]+)"', README)
    assert answers
    for answer in answers:
        assert answer == "…" or set(answer) <= set(ALPHABET), answer


def test_the_admin_walkthrough_does_not_deactivate_a_literal_user_id():
    """In the README's own order alice is user 1 and the admin user 2: a literal id was the
    admin deactivating himself (403). The walkthrough looks alice up instead."""
    admin_block = next(b for b in sh_blocks(README) if "/deactivate" in b)
    assert not re.search(r"/admin/users/\d+/", admin_block)
    assert 'ALICE=$(jq' in admin_block and "/admin/users/$ALICE/deactivate" in admin_block
    assert "ADMIN=$(curl" in admin_block  # where $ADMIN comes from


def test_the_admin_password_variable_is_named_where_the_password_is_explained():
    block = next(b for b in sh_blocks(README) if "create-admin" in b)
    assert "AUTHSVC_ADMIN_PASSWORD" in block


@pytest.mark.slow
def test_a_checkout_cli_refuses_production_without_a_secret_key(tmp_path):
    """.flaskenv makes a checkout's CLI development, never a deployment that says production."""
    env = checkout_env(tmp_path / "instance", AUTHSVC_ENV="production")
    result = run_shell(".venv/bin/flask --app wsgi invites list", env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    env = checkout_env(tmp_path / "instance", AUTHSVC_ENV="production", SECRET_KEY="changeme")
    result = run_shell(".venv/bin/flask --app wsgi invites list", env)
    assert result.returncode != 0 and "known default" in result.stderr
