"""Issue 17: when a quantized KV cache (or a smaller ubatch) turns offload into a fit, plan says so
with the figures (70B at 32k on 2×3090: offload ~6 tok/s, q8_0 KV all on the GPUs ~18 tok/s)."""

from __future__ import annotations

import json

from clirun import run_cli
from rigfit.catalog.models import get_model
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.fit_advice import fit_alternatives
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings, Verdict

BOX = "2x RTX 3090 + Ryzen 9 5950X + 64GB DDR4-3200"


def _plan(ctx: int, **kw):
    spec = catalog_model_spec(get_model("llama-3.1-70b"), "Q4_K_M")
    machine = resolve_machine(BOX)
    settings = PlanSettings(n_ctx=ctx, **kw)
    return spec, machine, settings, make_plan(spec, machine, settings)


def test_q8_0_kv_turns_the_70b_offload_into_a_fit_with_figures():
    spec, machine, settings, p = _plan(32768)
    assert p.fit is Verdict.OFFLOAD
    alts = fit_alternatives(spec, machine, settings, p)
    assert alts and alts[0].flags.startswith("--kv-type q8_0")
    assert alts[-1].fit is Verdict.FITS and all(a.fit in (Verdict.FITS, Verdict.TIGHT) for a in alts)
    offload_tps = p.speed.decode_tps.value
    for a in alts:  # every alternative keeps the layers on the GPUs: about 3x faster
        assert a.decode_tps.value > 2.5 * offload_tps
        check = make_plan(spec, machine, settings.__class__(n_ctx=32768, **_kw(a.flags)))
        assert check.fit is a.fit and check.speed.decode_tps.value == a.decode_tps.value


def _kw(flags: str) -> dict:
    parts = flags.split()
    kw: dict = {}
    for opt, val in zip(parts[::2], parts[1::2], strict=True):
        if opt == "--kv-type":
            kw.update(kv_type_k=val, kv_type_v=val)
        elif opt == "--ubatch":
            kw.update(n_ubatch=int(val))
    return kw


def test_no_advice_when_it_fits_or_the_user_chose_the_offload():
    spec, machine, settings, p = _plan(4096)
    assert p.fit is Verdict.FITS and fit_alternatives(spec, machine, settings, p) == []
    spec, machine, settings, p = _plan(32768, ngl=40)
    assert fit_alternatives(spec, machine, settings, p) == []
    spec, machine, settings, p = _plan(32768, kv_type_k="q4_0", kv_type_v="q4_0")
    assert all("q8_0" not in a.flags for a in fit_alternatives(spec, machine, settings, p))


def test_plan_cli_prints_and_jsons_the_alternative():
    out = run_cli("plan", "llama-3.1-70b", "--on", BOX, "--ctx", "32768")
    assert out.exit_code == 0, out.stderr
    assert "Fits instead: --kv-type q8_0" in out.stdout and "with this offload (estimated)" in out.stdout
    js = run_cli("plan", "llama-3.1-70b", "--on", BOX, "--ctx", "32768", "--json")
    data = json.loads(js.stdout)
    assert data["fit_alternatives"][0]["llama_flags"].startswith("-ctk q8_0 -ctv q8_0")
