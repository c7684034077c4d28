"""The real stack for browser tests, started once per run (see fixtures.py).

Without Chromium or the playwright package the whole directory is skipped with one line, and
nothing here imports playwright, so `make test` stays green on such a machine.
"""

import pathlib

import pytest

from .availability import SKIP_LINE, missing

if missing():
    collect_ignore_glob = ["test_*.py", "screenshots.py"]

    class _Unavailable(pytest.File):
        def collect(self):
            pytest.skip(SKIP_LINE)

    def pytest_collect_file(file_path, parent):
        """One skipped collector for the whole directory (one line with -rs)."""
        if file_path == pathlib.Path(__file__):
            return _Unavailable.from_parent(parent, path=file_path)
        return None

    def pytest_terminal_summary(terminalreporter):
        terminalreporter.write_line(SKIP_LINE, yellow=True)

else:
    from .fixtures import *  # noqa: F401,F403  the stack, Chromium, contexts, mailbox
