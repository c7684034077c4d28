"""axe-core (tests/browser/vendor/axe-core, test-only) on every page of the service, in both
languages and at both widths: no serious or critical violation, and no id used twice. The pages and the browser
states that reach them are in everypage.py; each state is set up once for the module.

When it fails, the message lists each rule with its impact, its help text and the elements."""

import json

import pytest

from .axe import BAD, DUPLICATE_IDS, VENDOR, WIDTHS, report, run_axe
from .everypage import PAGES, People
from .helpers import expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def people(stack, chromium, second_factor_url):
    from .stack import ADMIN

    made = People(stack, chromium, second_factor_url, dict(ADMIN))
    try:
        made.setup()
        yield made
    finally:
        made.close()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name,who,how", PAGES, ids=[p[0] for p in PAGES])
def test_no_serious_accessibility_violation(people, name, who, how, lang, width):
    page = people.pages[who]
    page.set_viewport_size(WIDTHS[width])
    if people.showing.get(who) != (name, lang):  # the other width of the same page: no reload
        origin = "/".join(page.url.split("/")[:3]) + "/"
        page.context.add_cookies([{"name": "lang", "value": lang, "url": origin}])
        how(page) if callable(how) else page.goto(how)
        people.showing[who] = (name, lang)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    found = run_axe(page)
    people.minor.update((v["id"], v["impact"]) for v in found if v["impact"] not in BAD)
    violations = [v for v in found if v["impact"] in BAD]
    assert not violations, report(name, lang, width, violations)
    assert page.evaluate(DUPLICATE_IDS) == [], f"ids used twice on {name}"  # axe 4.x checks ARIA ids only
    assert not people.problems, "errors in the browser:\n" + "\n".join(people.problems)


def test_the_vendored_axe_is_4x_with_its_licence():
    version = json.loads((VENDOR / "package.json").read_text())["version"]
    assert version.startswith("4."), version
    assert "Mozilla Public License" in (VENDOR / "LICENSE").read_text()
