"""The proof of work as an API client does it: the code of docs/api.md's example, run as is
(so the documented algorithm is the one the tests prove)."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _documented_solver():
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- pow-example -->\s*```python\n(.*?)```", text, re.S)
    assert block, "docs/api.md lost its proof-of-work example"
    scope = {}
    exec(compile(block.group(1), str(DOC), "exec"), scope)  # noqa: S102 - our own docs
    return block.group(1), scope["solve_pow"]


EXAMPLE, solve_pow = _documented_solver()
