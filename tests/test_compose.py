"""docker-compose.yml checked by a real Compose parser, and its secrets made as the README says.

Docker can't run here, but `docker-compose config` (Debian's docker-compose package; .ci/run
installs it) parses, validates against the Compose schema, interpolates .env and resolves the
file without a Docker daemon. The test builds the operator's folder the README's way (.env from
.env.example, the secrets/ files by the README's own commands) and checks what compose would run.
"""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from authsvc import config as settings

from .support.checkout import ROOT, commands, sh_blocks

COMPOSE = shutil.which("docker-compose")
# CI installs it (.ci/run): there a missing parser fails the tests instead of skipping them.
pytestmark = pytest.mark.skipif(
    not COMPOSE and not os.environ.get("CI"),
    reason="docker-compose missing: apt-get install -y docker-compose (.ci/run does)")
APP_SERVICES = ("migrate", "web", "worker")


def readme_setup_commands():
    """The README's docker-compose steps before the first `docker compose` command."""
    block = next(b for b in sh_blocks((ROOT / "README.md").read_text()) if "docker compose up" in b)
    lines = commands(block)
    return lines[:next(i for i, line in enumerate(lines) if line.startswith("docker compose"))]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """An operator's folder after the README's steps up to `docker compose up`."""
    folder = tmp_path_factory.mktemp("compose")
    shutil.copy(ROOT / "docker-compose.yml", folder)
    shutil.copytree(ROOT / "docker", folder / "docker")
    shutil.copy(ROOT / ".env.example", folder)
    shutil.copy(ROOT / "Makefile", folder)  # make dev-certs
    lines = readme_setup_commands()
    assert lines[0].startswith("cp .env.example .env") and any("secrets/" in line for line in lines)
    assert any(line.startswith("make dev-certs") for line in lines)
    subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=folder, check=True)
    return folder


def compose(project, *args, file="docker-compose.yml"):
    return subprocess.run([COMPOSE, "-f", file, *args], cwd=project, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def resolved(project):
    result = compose(project, "config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_parser_refuses_a_broken_file(project):
    text = (project / "docker-compose.yml").read_text()
    (project / "broken.yml").write_text(text.replace("    healthcheck:", "    healthchek:", 1))
    result = compose(project, "config", "-q", file="broken.yml")
    assert result.returncode != 0 and "healthchek" in result.stderr


def test_the_shipped_file_is_valid_compose(project):
    result = compose(project, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_secrets_reach_the_app_as_files_never_as_variables(resolved, project):
    declared = resolved["secrets"]
    for name, secret in declared.items():  # each one made by the README's commands
        assert (project / "secrets" / name).is_file(), name
        assert secret["file"] == str(project / "secrets" / name)
    for service_name, service in resolved["services"].items():
        environment = service.get("environment", {})
        mounted = {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}
        for variable, value in environment.items():
            if variable in settings.SECRET_SETTINGS and variable != "REDIS_URL":  # no password in it
                assert not value, (service_name, variable)  # .env.example's optional ones, unset
            assert variable != "POSTGRES_PASSWORD", service_name
            if variable.endswith("_FILE"):
                assert value.startswith("/run/secrets/") and value.removeprefix("/run/secrets/") in mounted
    for name in APP_SERVICES:
        environment = resolved["services"][name]["environment"]
        assert environment["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
        assert environment["DATABASE_URL_FILE"] == "/run/secrets/database_url"
        assert environment["MAIL_PASSWORD_FILE"] == "/run/secrets/mail_password"
        assert environment["AUTHSVC_ENV"] == "production"
    postgres = resolved["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD_FILE"] == "/run/secrets/postgres_password"


def test_the_readme_secrets_make_a_production_configuration(project, tmp_path):
    """What the app reads inside the containers: the README-made files through NAME_FILE."""
    files = {f"{name}_FILE": str(project / "secrets" / name.lower())
             for name in ("SECRET_KEY", "DATABASE_URL", "MAIL_PASSWORD")}
    public = re.search(r"^PUBLIC_URL=(\S+)$", (project / ".env.example").read_text(), re.M).group(1)
    values = settings.from_environment(dict(files, AUTHSVC_ENV="production", PUBLIC_URL=public))  # .env's
    settings.finalise(values, str(tmp_path))  # a weak or short key would be refused here
    password = (project / "secrets" / "postgres_password").read_text().strip()
    assert values["DATABASE_URL"] == f"postgresql+psycopg://authsvc:{password}@postgres:5432/authsvc"
    assert values["MAIL_PASSWORD"] == "the QQ Mail authorization code"


def test_the_proxy_serves_https_with_the_certs_folder(resolved, project):
    proxy = resolved["services"]["proxy"]
    assert {(p["published"], p["target"]) for p in proxy["ports"]} == {(80, 80), (443, 443)}
    mounts = dict(_mount(v) for v in proxy["volumes"])
    assert mounts["/etc/nginx/certs"] == (str(project / "certs"), True)
    assert mounts["/etc/nginx/conf.d/default.conf"] == (str(project / "docker" / "nginx.conf"), True)
    for name in ("fullchain.pem", "privkey.pem"):  # made by the README's `make dev-certs`
        assert (project / "certs" / name).is_file()


def _mount(volume):
    """target -> (source, read only), from the short ("src:dst:ro") or the long syntax."""
    if isinstance(volume, str):
        source, target, *mode = volume.split(":")
        return target, (source, mode == ["ro"])
    return volume["target"], (volume["source"], bool(volume.get("read_only")))


def test_the_app_trusts_exactly_the_proxy_in_front(resolved):
    for name in APP_SERVICES:
        assert resolved["services"][name]["environment"]["PROXY_FIX_X_FOR"] == "1"
    assert "ports" not in resolved["services"]["web"]  # reachable only through the proxy


def test_the_ha_profile_adds_a_replica_and_three_sentinels_watching_the_apps_master(project):
    result = compose(project, "--profile", "ha", "config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    sentinels = [name for name in services if name.startswith("sentinel-")]
    assert len(sentinels) == 3 and len({services[n]["hostname"] for n in sentinels}) == 3
    assert all(services[n]["profiles"] == ["ha"] for n in [*sentinels, "redis-replica"])
    replica = services["redis-replica"]["command"]
    assert replica[replica.index("--replicaof") + 1:][:2] == ["redis", "6379"]
    script = services["sentinel-1"]["command"][2]
    monitor = re.search(r"sentinel monitor (\S+) redis 6379 (\d)", script)
    assert monitor.group(1) == settings.SETTINGS["REDIS_SENTINEL_MASTER"][1]  # the app's default name
    assert 2 <= int(monitor.group(2)) <= len(sentinels)  # a quorum a majority can reach
    assert "REDIS_SENTINELS" in (ROOT / "README.md").read_text()


@pytest.mark.skipif(not shutil.which("redis-sentinel"), reason="redis-sentinel missing (.ci/run installs it)")
def test_the_ha_sentinel_configuration_runs_in_a_real_sentinel(project, tmp_path):
    """The sentinels' start script, with this machine's addresses for the containers' names,
    starts Debian's redis-sentinel, which finds the master under the app's name."""
    import redis

    from .support import free_port, wait_until

    services = yaml.safe_load(compose(project, "--profile", "ha", "config").stdout)["services"]
    script = services["sentinel-1"]["command"][2]
    master_port, sentinel_port = free_port(), free_port()
    script = (script.replace("redis 6379", f"127.0.0.1 {master_port}").replace("port 26379", f"port {sentinel_port}")
              .replace("/tmp/sentinel.conf", str(tmp_path / "sentinel.conf")).replace("$HOSTNAME", "127.0.0.1")
              .replace("exec redis-sentinel", "exec " + shutil.which("redis-sentinel")))
    master = subprocess.Popen(["redis-server", "--port", str(master_port), "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL)
    sentinel = subprocess.Popen(["sh", "-c", script], stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        client = redis.Redis(port=sentinel_port)

        def found():
            try:
                return client.execute_command("SENTINEL", "get-master-addr-by-name", "authsvc")
            except redis.RedisError:
                return None
        assert wait_until(found, timeout=10)
        assert [part.decode() for part in found()] == ["127.0.0.1", str(master_port)]
    finally:
        for process in (sentinel, master):
            process.terminate()
            process.wait(timeout=10)
