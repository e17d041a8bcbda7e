"""The pages in headless Chromium (Debian's ``chromium``, driven by Playwright), as a person uses them:
type a machine and a model, drag the context, and check that the verdict and figures are those of
``rigfit plan --json``; a bad name shows the error; a shared URL restores the state.

Screenshots go to ``$RIGFIT_SCREENSHOT_DIR`` (default ``tests/serve/artifacts``, git-ignored) at
1280×800 and at phone width (390×844). Skipped, with the reason, where Chromium or Playwright is absent.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("serve")

CHROMIUM = next(
    (
        p
        for p in (
            os.environ.get("RIGFIT_CHROMIUM"),
            "/usr/bin/chromium",
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
        )
        if p and Path(p).exists()
    ),
    None,
)
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MACHINE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium: install Debian's 'chromium' package (.ci/run does) or set RIGFIT_CHROMIUM")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (test extra)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def shots() -> Path:
    d = Path(os.environ.get("RIGFIT_SCREENSHOT_DIR") or Path(__file__).parent / "artifacts")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _page(browser, viewport=WIDE):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def _expect_plan(page, cli: dict) -> None:
    """The page shows the verdict, context and speed figures of ``rigfit plan --json``."""
    from playwright.sync_api import expect

    expect(page.locator("#n-ctx")).to_have_attribute("data-value", str(cli["n_ctx"]))
    expect(page.locator("#verdict")).to_have_text(cli["fit"])
    sp = cli["speed"]
    for sel, key, digits in (
        ("#decode", "decode_tps", 1),
        ("#decode-ctx", "decode_tps_at_context", 1),
        ("#prefill", "prefill_tps", 1),
        ("#ttft", "ttft_s", 2),
    ):
        v = sp[key]["value"]
        expect(page.locator(sel)).to_have_text(f"{v:,.{digits}f}")
        assert float(page.locator(sel).get_attribute("data-value")) == pytest.approx(v, rel=1e-12)
    if sp.get("bottleneck"):
        expect(page.locator("#bottleneck")).to_contain_text(sp["bottleneck"])
    for d in cli["memory"]["devices"]:
        expect(page.locator(".dev", has_text=d["name"]).locator(".tot")).to_have_attribute(
            "data-bytes", str(d["total_bytes"])
        )
    if cli["commands"].get("llama_server_line"):
        expect(page.locator("#commands pre").first).to_have_text(cli["commands"]["llama_server_line"])


def _query(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def _pick(page, field: str, typed: str, choice: str) -> None:
    """Type into a picker and click the suggestion that contains ``choice``."""
    box = page.locator(f"#{field}")
    box.fill("")
    box.press_sequentially(typed, delay=30)
    page.locator(f"#{field}-list li", has_text=choice).first.click()


def _drag_slider_to(page, sel: str, fraction: float) -> None:
    """Drag a range input's thumb with the mouse, from where it is to ``fraction`` of its width."""
    box = page.locator(sel).bounding_box()
    el = page.locator(sel)
    now = (float(el.input_value()) - float(el.get_attribute("min"))) / (
        float(el.get_attribute("max")) - float(el.get_attribute("min"))
    )
    y = box["y"] + box["height"] / 2
    pad = 8  # the thumb's half width: its centre travels between pad and width - pad
    x0 = box["x"] + pad + now * (box["width"] - 2 * pad)
    x1 = box["x"] + pad + fraction * (box["width"] - 2 * pad)
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=12)
    page.mouse.up()


def test_plan_type_machine_and_model_then_drag_the_context(server, browser, run_cli, shots):
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(server + "/plan")
    expect(page.locator("#verdict")).to_be_visible()
    _pick(page, "on", "rtx 3060 12", "GeForce RTX 3060 12 GB")
    _pick(page, "model", "qwen2.5 14", "qwen2.5-14b")
    page.wait_for_function("location.search.includes('model=qwen2.5-14b')")
    on = _query(page)["on"]
    assert on == "GeForce RTX 3060 12 GB"
    first = run_cli("plan", "qwen2.5-14b", "--on", on)
    _expect_plan(page, first)
    expect(page.locator(".title")).to_contain_text("Qwen2.5 14B")

    _drag_slider_to(page, "#ctx", 1.0)  # to the training context
    page.wait_for_function("new URLSearchParams(location.search).get('ctx') === '32768'")
    dragged = run_cli("plan", "qwen2.5-14b", "--on", on, "--ctx", "32768")
    _expect_plan(page, dragged)
    assert dragged["fit"] != first["fit"], "the drag should change the verdict on a 12 GB card"
    expect(page.locator("#ctx-value")).to_have_text("32,768")
    page.screenshot(path=str(shots / "plan-dragged-1280x800.png"), full_page=False)

    _drag_slider_to(page, "#ctx", 0.45)
    page.wait_for_function("new URLSearchParams(location.search).get('ctx') !== '32768'")
    page.wait_for_timeout(300)
    ctx = _query(page)["ctx"]
    _expect_plan(page, run_cli("plan", "qwen2.5-14b", "--on", on, "--ctx", ctx))
    assert errors == []


def test_a_bad_name_shows_the_error(server, browser, shots):
    from playwright.sync_api import expect

    page, _ = _page(browser)
    page.goto(server + "/plan?" + urllib.parse.urlencode({"model": "llama-3.1-8b", "on": MACHINE}))
    expect(page.locator("#verdict")).to_be_visible()
    page.locator("#on").fill("RTX 9999 Ultra")
    page.locator("#on").press("Enter")
    expect(page.locator("#error")).to_contain_text("Unknown hardware 'RTX 9999 Ultra'")
    expect(page.locator("#error .hint")).to_contain_text("rigfit hardware --list")
    page.locator("#model").fill("llama-3.1-8bb")
    page.locator("#model").press("Enter")
    page.locator("#on").fill(MACHINE)
    page.locator("#on").press("Enter")
    expect(page.locator("#error")).to_contain_text("Unknown model 'llama-3.1-8bb'")
    expect(page.locator("#error .hint")).to_contain_text("llama-3.1-8b")
    page.screenshot(path=str(shots / "plan-error-1280x800.png"))


def test_a_shared_url_restores_the_state(server, browser, run_cli, shots):
    from playwright.sync_api import expect

    state = {
        "model": "llama-3.1-8b",
        "on": "RTX 4090",
        "quant": "Q8_0",
        "ctx": "16384",
        "kv_type": "q8_0",
        "parallel": "2",
    }
    page, errors = _page(browser)
    page.goto(server + "/plan?" + urllib.parse.urlencode(state))
    expect(page.locator("#on")).to_have_value("RTX 4090")
    expect(page.locator("#model")).to_have_value("llama-3.1-8b")
    expect(page.locator("#quant")).to_have_value("Q8_0")
    expect(page.locator("#kv_type")).to_have_value("q8_0")
    expect(page.locator("#parallel")).to_have_value("2")
    expect(page.locator("#ctx-value")).to_have_text("16,384")
    cli = run_cli(
        "plan",
        "llama-3.1-8b",
        "--on",
        "RTX 4090",
        "--quant",
        "Q8_0",
        "--ctx",
        "16384",
        "--kv-type",
        "q8_0",
        "--parallel",
        "2",
    )
    _expect_plan(page, cli)
    expect(page.locator("#per-user")).to_have_text(f"{cli['speed']['per_user_decode_tps']['value']:,.1f}")
    assert _query(page) == state  # nothing lost or added on the way
    # the nav links carry the shared inputs to the other pages
    href = page.locator("#nav a[data-view=compare]").get_attribute("href")
    assert "model=llama-3.1-8b" in href and "quant=Q8_0" in href
    page.screenshot(path=str(shots / "plan-shared-1280x800.png"))
    assert errors == []


def test_recommend_table_sorts_and_marks_the_sweet_spot(server, browser, api_get, shots):
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(server + "/recommend?" + urllib.parse.urlencode({"on": MACHINE, "limit": 8}))
    rows = page.locator("#picks tbody tr")
    expect(rows.first).to_be_visible()
    _, rec = api_get(server, "/api/recommend", {"on": MACHINE, "limit": 8})
    expect(rows).to_have_count(len(rec["picks"]))
    expect(rows.first.locator("td").nth(1)).to_have_text(rec["picks"][0]["name"])
    if rec["sweet_spot"]:
        expect(page.locator("#picks tr.sweet")).to_have_count(1)
        expect(page.locator("#picks tr.sweet")).to_contain_text("★")
        expect(page.locator("#sweet-spot")).to_contain_text(rec["sweet_spot"]["name"])
    page.locator("#picks th", has_text="Decode tok/s").click()
    texts = rows.locator("td:nth-child(5)").all_inner_texts()
    decode = [float(t.split(" ")[0].replace(",", "")) for t in texts]
    assert decode == sorted(decode, reverse=True)
    page.screenshot(path=str(shots / "recommend-1280x800.png"), full_page=True)
    assert errors == []


def test_compare_floor_cost_and_measurements_pages(server, browser, api_get, shots):
    from playwright.sync_api import expect

    page, errors = _page(browser)
    page.goto(server + "/compare?model=llama-3.1-8b&on=RTX+3060+12GB&on=RTX+4090&ctx=8192")
    expect(page.locator("#matrix tbody tr").first).to_be_visible()
    _, cmp_ = api_get(
        server,
        "/api/compare",
        [("model", "llama-3.1-8b"), ("on", "RTX 3060 12GB"), ("on", "RTX 4090"), ("ctx", "8192")],
    )
    expect(page.locator("#matrix tbody tr")).to_have_count(len(cmp_["quants"]))
    expect(page.locator(".mcard")).to_have_count(2)
    page.screenshot(path=str(shots / "compare-1280x800.png"), full_page=True)

    page.goto(server + "/floor?model=llama-3.1-70b&min_tps=8")
    expect(page.locator("#floor tbody tr").first).to_be_visible()
    first_machine = page.locator("#floor tbody tr").first.locator("td").first.inner_text()
    page.locator("#floor tbody tr").first.locator("button").click()
    expect(page.locator("#cost")).to_contain_text("Break-even")
    assert _query(page)["on"] == first_machine
    _, co = api_get(server, "/api/cost", {"model": "llama-3.1-70b", "on": first_machine})
    power = page.locator("#cost tr", has_text="Wall power while generating").locator("td").first
    expect(power).to_have_text(f"{co['load_w']:,.0f} W")
    speed = page.locator("#cost tr", has_text="Decode speed").locator("td").first
    expect(speed).to_contain_text(f"{co['decode_tps']['value']:,.1f}")
    page.screenshot(path=str(shots / "floor-cost-1280x800.png"), full_page=True)

    page.goto(server + "/measurements")
    expect(page.locator("#chart circle")).to_have_count(4)  # the seeded results with a prediction
    expect(page.locator("#results tbody tr")).to_have_count(5)
    page.screenshot(path=str(shots / "measurements-1280x800.png"), full_page=True)
    assert errors == []


@pytest.mark.parametrize("path", ["/plan", "/recommend", "/compare", "/floor", "/measurements"])
def test_phone_width_has_no_sideways_scroll(server, browser, shots, path):
    from playwright.sync_api import expect

    page, errors = _page(browser, PHONE)
    page.goto(server + path)
    expect(page.locator("#main h2")).to_be_visible()
    page.wait_for_function(
        "!document.querySelector('#out, #floor-out') || "
        "!/…$/.test(document.querySelector('#out, #floor-out').innerText.trim())"
    )
    page.wait_for_timeout(200)
    over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    page.screenshot(path=str(shots / f"{path.strip('/')}-phone.png"), full_page=True)
    assert over <= 1, f"{path} is {over}px wider than a phone screen"
    assert errors == []


def test_this_machine_and_the_copy_button(server, browser, run_cli):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=WIDE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    page.set_default_timeout(90_000)
    page.goto(server + "/plan?model=llama-3.2-1b")
    expect(page.locator("#verdict")).to_be_visible()
    page.get_by_role("button", name="this machine").click()
    page.wait_for_function("new URLSearchParams(location.search).get('on') === 'local'")
    cli = run_cli("plan", "llama-3.2-1b", "--on", "local")
    expect(page.locator(".title")).to_contain_text(cli["machine"]["name"])
    _expect_plan(page, cli)
    line = cli["commands"].get("llama_server_line")
    if line:
        page.locator("#commands .cmd", has_text="llama.cpp").get_by_role("button", name="copy").click()
        expect(page.locator("#commands .cmd", has_text="llama.cpp").locator("button")).to_have_text("copied")
        assert page.evaluate("navigator.clipboard.readText()") == line
    context.close()
