"""Hosted SRAM systems (Cerebras WSE-3, Groq LPU): answered from published figures."""

from __future__ import annotations

import math
import re

from rigfit.estimate.speed.coefficients import load_constants
from rigfit.estimate.speed.result import SpeedEstimate
from rigfit.estimate.speed.work import ModelWork, state_words
from rigfit.figures import Figure, Provenance
from rigfit.hardware.devices import Device


def _hosted_key(name: str) -> str:
    """A model name as the hosted tables key it: 'gpt-oss 120B' → 'gpt-oss-120b'."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def estimate_hosted(
    work: ModelWork,
    dev: Device,
    *,
    context: int = 4096,
    prompt: int = 512,
    users: int = 1,
    C: dict | None = None,
) -> SpeedEstimate:
    """Hosted SRAM systems (Cerebras WSE-3, Groq LPU): capacity → systems needed; speed from
    published per-user figures (vendor-hosted, may include speculative decoding): "looked_up" when
    the vendor publishes one for this very model, else "estimated" from a curve over the figures
    it publishes for other models (wide band)."""
    C = C or load_constants()
    name = (dev.name + " " + dev.vendor).lower()
    key = "cerebras" if "cerebras" in name or "wse" in name else "groq"
    h = C["hosted"][key]
    sram = float(dev.memory_bytes or h["sram_bytes"])
    need = work.total_bytes + work.kv_bytes_per_token() * context * users
    n_sys = max(1, math.ceil(need / (sram * h["usable_fraction"])))
    act_b = work.active_params / 1e9
    published = h.get("published", {}).get(_hosted_key(work.name))
    prov: Provenance
    if published is not None:
        tps = float(published)
        prov, src = "looked_up", "published figure for this model: " + h["source"]
        lo, hi = tps * 0.6, tps * 1.4  # vendor figures move with deployments and over time
    else:
        # a least-squares line in log-log space through the vendor's published (active params,
        # per-user tok/s) pairs: on wafer-scale / SRAM systems the weights never leave the chip,
        # so per-user speed is set by the vendor's pipeline and falls only slowly with size
        # (Cerebras: 8B 1,800, 70B 2,100, 405B 969 tok/s), not by bytes per token over bandwidth
        xs = [math.log(a) for a, _ in h["anchors"]]
        ys = [math.log(t) for _, t in h["anchors"]]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)
        tps = math.exp(my + slope * (math.log(max(act_b, 0.1)) - mx))
        prov = "estimated"
        src = (
            "from published vendor figures for other models (curve over active parameters; the "
            "vendor publishes no figure for this one): " + h["source"]
        )
        # a curve through a handful of other models' figures, extrapolated to a model the vendor
        # may not serve at all: a wide band (½× to 2×), not a calibrated one
        lo, hi = tps * 0.5, tps * 2.0
    unit_word = "CS-3 systems" if key == "cerebras" else "LPU chips"
    tg = Figure(tps, "tok/s", prov, src, lo, hi)
    ttft = Figure(h["ttft_s"], "s", prov, src, h["ttft_s"] * 0.5, h["ttft_s"] * 2.0)
    pp_v = prompt / h["ttft_s"]
    kv_word = " + KV" if work.kv_bytes_per_token() else ""
    return SpeedEstimate(
        prefill_tps=Figure(pp_v, "tok/s", prov, src, pp_v * 0.5, pp_v * 2.0),
        decode_tps=tg,
        decode_tps_ctx=tg,
        ttft_s=ttft,
        bottleneck=f"hosted SRAM system: needs {n_sys} {unit_word} to hold the {state_words(work)}; "
        "per-user speed is set by the vendor's pipeline, not by memory bandwidth",
        prompt_tokens=prompt,
        context_tokens=context,
        parallel=users,
        notes=(
            f"{n_sys} {unit_word} needed ({need / 1e9:.0f} GB of weights{kv_word} at "
            f"{h['usable_fraction']:.0%} usable of {sram / 1e9:.2f} GB each)",
            "speed from the vendor's published figure for this model, not a llama.cpp measurement"
            if published is not None
            else "speed estimated from published vendor figures for other models (the vendor publishes "
            "none for this one; it may not serve it), not a llama.cpp measurement",
        ),
        details={"n_systems": n_sys, "hosted": key},
    )
