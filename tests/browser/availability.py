"""Whether the browser suite can run here: Debian's Chromium and the playwright package."""

import importlib.util
import os
import shutil

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SKIP_LINE = ("browser tests skipped: install Chromium (apt-get install -y chromium) and "
             "`pip install playwright` (no `playwright install` needed)")


def missing():
    """True when Chromium or playwright is not installed."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        return True
    return importlib.util.find_spec("playwright") is None
