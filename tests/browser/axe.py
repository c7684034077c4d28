"""axe-core in a page (tests/browser/vendor/axe-core, test-only): injected once per document,
run for violations; the serious and critical ones fail a test (test_axe.py, test_axe_captcha.py)."""

from pathlib import Path

VENDOR = Path(__file__).parent / "vendor" / "axe-core"
AXE = (VENDOR / "axe.min.js").read_text()
WIDTHS = {1280: {"width": 1280, "height": 800}, 390: {"width": 390, "height": 844}}
BAD = ("serious", "critical")
DUPLICATE_IDS = """() => {
  const seen = {};
  document.querySelectorAll("[id]").forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
  return Object.keys(seen).filter(id => seen[id] > 1);
}"""
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ") + "  " + (n.failureSummary || "").replace(/\\s+/g, " "))}));
}"""


def run_axe(page):
    """Every violation axe finds in the page as it is now: [{id, impact, help, nodes}]."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE)
    return page.evaluate(RUN)


def report(name, lang, width, violations):
    lines = [f"axe: {len(violations)} serious/critical violation(s) on {name} ({lang}, {width} px):"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']}")
        lines += [f"      {node}" for node in v["nodes"][:6]]
    return "\n".join(lines)
