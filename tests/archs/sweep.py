"""Architecture × setting sweep against real llama.cpp (xllamacpp): the synthetic model of every
family rigfit plans (tests/synth.py and tests/archs/*_synth.py), F16 and Q4_0 (the repack rules),
loaded at the settings of issue 12, buffer by buffer (weights = ``CPU_Mapped``, repack, KV,
recurrent state, compute, output) within 1 % or 1 MiB.

Used by ``benchmarks/arch_sweep.py`` (the full sweep) and ``tests/archs/test_sweep.py`` (a fast
subset: three settings per family).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
for _p in (str(_HERE), str(_HERE.parent)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from cohere2_synth import write_cohere2  # noqa: E402
from dense_synth import write_dense  # noqa: E402
from dsa_synth import write_dsa  # noqa: E402
from falcon_h1_synth import write_falcon_h1  # noqa: E402
from gemma3n_synth import write_gemma3n, write_gemma4  # noqa: E402
from hybrid_synth import write_granitehybrid, write_lfm2, write_nemotron_h  # noqa: E402
from llama4_synth import write_llama4  # noqa: E402
from moe_synth import write_glm4moe, write_gpt_oss, write_minimax_m2  # noqa: E402
from phimoe_synth import write_phimoe  # noqa: E402
from postnorm_synth import write_postnorm  # noqa: E402
from qwen3next_synth import write_qwen3next  # noqa: E402

import synth  # noqa: E402
from rigfit.estimate.memory import build_profile  # noqa: E402
from rigfit.formats.source import load_model_source  # noqa: E402
from rigfit.hardware.devices import Machine  # noqa: E402
from rigfit.plan import PlanSettings, device_memory  # noqa: E402

MIB = 1024**2
CPU_BOX = Machine(name="CPU-only sweep box", ram_bytes=256 * 1024**3)
KINDS = ("weights", "repack", "KV", "RS", "compute", "output")

Writer = Callable[..., Any]

#: family → writer of its synthetic GGUF (keyword arguments: path, wtype)
FAMILIES: dict[str, Writer] = {
    "llama": lambda p, wtype: synth.write_llama(p, wtype=wtype, n_ctx=32768),
    "llama-tied": lambda p, wtype: synth.write_llama(p, wtype=wtype, tied=True, n_ctx=32768),
    "qwen2": lambda p, wtype: write_dense(p, "qwen2", wtype=wtype),
    "qwen3": lambda p, wtype: write_dense(p, "qwen3", wtype=wtype),
    "qwen3moe": lambda p, wtype: synth.write_moe(p, wtype=wtype, n_ctx=32768),
    "gemma2": lambda p, wtype: write_dense(p, "gemma2", wtype=wtype),
    "gemma3": lambda p, wtype: synth.write_gemma3(p, wtype=wtype, n_ctx=32768),
    "gemma3n": lambda p, wtype: write_gemma3n(p, wtype=wtype),
    "gemma4": lambda p, wtype: write_gemma4(p, wtype=wtype),
    "gemma4-ple-shared-kv": lambda p, wtype: write_gemma4(
        p, ple=64, shared_kv_layers=2, n_layer=8, wtype=wtype
    ),
    "gemma4-ple256": lambda p, wtype: write_gemma4(p, ple=256, shared_kv_layers=2, n_layer=8, wtype=wtype),
    "gemma4-moe": lambda p, wtype: write_gemma4(p, moe=True, wtype=wtype),
    # the released shape rules (data/model-configs/google__gemma-4-*.json), small dims: E2B
    # (4:1 SWA, 1 KV head, shared KV with double-wide FFN, per-layer embeddings), 31B (K = V on
    # global layers with fewer KV heads) and 26B-A4B (the same plus routed experts)
    "gemma4-e2b": lambda p, wtype: write_gemma4(
        p,
        n_layer=10,
        swa_period=5,
        n_head_kv=1,
        ple=64,
        shared_kv_layers=5,
        double_wide_mlp=True,
        wtype=wtype,
    ),
    "gemma4-31b": lambda p, wtype: write_gemma4(
        p, n_layer=12, n_head=8, n_head_kv=4, n_head_kv_global=1, k_eq_v=True, wtype=wtype
    ),
    "gemma4-26b-a4b": lambda p, wtype: write_gemma4(
        p, n_head=8, n_head_kv=4, n_head_kv_global=1, k_eq_v=True, moe=True, wtype=wtype
    ),
    "phi3": lambda p, wtype: write_dense(p, "phi3", wtype=wtype),
    "granite": lambda p, wtype: write_dense(p, "granite", wtype=wtype),
    "smollm3": lambda p, wtype: write_dense(p, "smollm3", wtype=wtype),
    "gemma": lambda p, wtype: write_dense(p, "gemma", wtype=wtype),
    "olmo2": lambda p, wtype: write_postnorm(p, "olmo2", wtype=wtype),
    "olmo2-swa": lambda p, wtype: write_postnorm(p, "olmo2", sliding_window=512, wtype=wtype),
    "seed_oss": lambda p, wtype: write_postnorm(p, "seed_oss", bias=True, wtype=wtype),
    "exaone4": lambda p, wtype: write_postnorm(p, "exaone4", tied=True, wtype=wtype),
    "phimoe": lambda p, wtype: write_phimoe(p, wtype=wtype),
    "phimoe-longrope": lambda p, wtype: write_phimoe(p, n_ctx=32768, longrope=True, wtype=wtype),
    "llama4": lambda p, wtype: write_llama4(p, wtype=wtype, n_ctx=32768),
    "deepseek2": lambda p, wtype: synth.write_deepseek2_mla(p, wtype=wtype, n_ctx=32768),
    # DeepSeek sparse attention (lightning indexer + its K cache), with a skipped MTP block
    "deepseek32": lambda p, wtype: write_dsa(p, "deepseek32", n_nextn=1, wtype=wtype),
    "glm-dsa": lambda p, wtype: write_dsa(p, "glm-dsa", n_nextn=1, wtype=wtype),
    # GLM-5.2: "shared" layers reuse the previous full layer's top-k (no indexer, no indexer cache)
    "glm-dsa-shared": lambda p, wtype: write_dsa(
        p, "glm-dsa", n_layer=8, indexer_types=[1, 1, 0, 0, 1, 0, 0, 0], n_nextn=1, wtype=wtype
    ),
    "cohere2": lambda p, wtype: write_cohere2(p, wtype=wtype),
    "falcon-h1": lambda p, wtype: write_falcon_h1(p, wtype=wtype, n_ctx=32768),
    "mamba2": lambda p, wtype: synth.write_mamba2(p, wtype=wtype, n_ctx=32768),
    "gpt-oss": lambda p, wtype: write_gpt_oss(p, wtype=wtype),
    "glm4moe": lambda p, wtype: write_glm4moe(p, wtype=wtype),
    "minimax-m2": lambda p, wtype: write_minimax_m2(p, wtype=wtype),
    # gated attention with q = 4·n_embd, the regime of the released models (see archs/qwen.py)
    "qwen3next": lambda p, wtype: write_qwen3next(p, n_head=16, wtype=wtype),
    "qwen35": lambda p, wtype: write_qwen3next(p, "qwen35", n_head=16, wtype=wtype),
    "qwen35moe": lambda p, wtype: write_qwen3next(p, "qwen35moe", n_head=16, wtype=wtype),
    "granitehybrid": lambda p, wtype: write_granitehybrid(p, wtype=wtype),
    "granitehybrid-moe": lambda p, wtype: write_granitehybrid(p, moe=True, n_ff=128, wtype=wtype),
    "nemotron_h": lambda p, wtype: write_nemotron_h(p, wtype=wtype),
    "nemotron_h_moe": lambda p, wtype: write_nemotron_h(p, moe=True, wtype=wtype),
    "lfm2": lambda p, wtype: write_lfm2(p, wtype=wtype),
    "lfm2-swa": lambda p, wtype: write_lfm2(p, sliding_window=512, wtype=wtype),
    "lfm2moe": lambda p, wtype: write_lfm2(p, moe=True, wtype=wtype),
}

#: Families at a released model's own layer sizes (few layers, a 1000-token vocabulary), where
#: ggml-alloc's block reuse behaves as in the real model; hundreds of MiB each, so only
#: benchmarks/arch_sweep.py loads them (``--families gemma4-e2b-dims,gemma4-26b-a4b-dims --wtypes Q4_0``).
LARGE_FAMILIES: dict[str, Writer] = {
    # Gemma 4 E2B (E 1536, 8 heads of 256 / 512, 1 KV head, 4:1 SWA, per-layer inputs 256, the
    # last layers sharing KV with a double-wide FFN), 10 of its 35 layers
    "gemma4-e2b-dims": lambda p, wtype: write_gemma4(
        p,
        n_layer=10,
        n_embd=1536,
        n_head=8,
        n_head_kv=1,
        head_dim=512,
        head_dim_swa=256,
        n_ff=6144,
        ple=256,
        shared_kv_layers=5,
        swa_period=5,
        double_wide_mlp=True,
        wtype=wtype,
    ),
    # Gemma 4 26B-A4B (E 2816, 16 heads of 256 / 512, 8 / 2 KV heads with K = V, dense FFN 2112
    # next to experts of 704, 8 used), 7 of its 30 layers (a global layer before a sliding one,
    # as in the released model) and 16 of its 128 experts
    "gemma4-26b-a4b-dims": lambda p, wtype: write_gemma4(
        p,
        n_layer=7,
        n_embd=2816,
        n_head=16,
        n_head_kv=8,
        n_head_kv_global=2,
        k_eq_v=True,
        head_dim=512,
        head_dim_swa=256,
        n_ff=2112,
        moe=True,
        n_expert=16,
        n_expert_used=8,
        n_ff_exp=704,
        sliding_window=1024,
        wtype=wtype,
    ),
}


@dataclass(frozen=True)
class Setting:
    """One llama.cpp context (llama-server flags in the label)."""

    label: str
    n_ctx: int
    flash_attn: str = "on"
    n_parallel: int = 1
    kv_unified: bool = False
    swa_full: bool = False
    n_ubatch: int = 512
    kv_type: str = "f16"


SETTINGS = (
    Setting("-c 512 -fa on", 512),
    Setting("-c 512 -fa off", 512, "off"),
    Setting("-c 4096 -fa on", 4096),
    Setting("-c 4096 -fa off", 4096, "off"),
    Setting("-c 32768 -fa on", 32768),
    Setting("-c 32768 -fa off", 32768, "off"),
    Setting("-c 32768 -ctk/-ctv q8_0", 32768, kv_type="q8_0"),
    Setting("-c 4096 -ctk/-ctv q8_0", 4096, kv_type="q8_0"),
    Setting("-c 4096 -np 4", 4096, n_parallel=4),
    Setting("-c 32768 -np 4 -fa off", 32768, "off", n_parallel=4),
    Setting("-c 4096 -np 4 -kvu", 4096, n_parallel=4, kv_unified=True),
    Setting("-c 4096 --swa-full", 4096, swa_full=True),
    Setting("-c 32768 --swa-full -np 4", 32768, n_parallel=4, swa_full=True),
    Setting("-c 4096 -ub 128", 4096, n_ubatch=128),
    Setting("-c 4096 -ub 1024", 4096, n_ubatch=1024),
    Setting("-c 32768 -ub 1024 -fa off", 32768, "off", n_ubatch=1024),
)
#: the fast subset the tests run
QUICK = (SETTINGS[3], SETTINGS[10], SETTINGS[14])
WTYPES = ("F16", "Q4_0")


def run_config(path: str, s: Setting) -> Any:
    from rigfit.measure.llamacpp_log import RunConfig  # lazy: imports xllamacpp helpers

    return RunConfig(
        path,
        n_ctx=s.n_ctx,
        flash_attn=s.flash_attn,
        n_parallel=s.n_parallel,
        kv_unified=s.kv_unified,
        swa_full=s.swa_full,
        n_ubatch=s.n_ubatch,
        type_k=s.kv_type,
        type_v=s.kv_type,
    )


def predicted(spec: Any, s: Setting) -> dict[str, float]:
    """rigfit's CPU buffers for setting ``s`` [MiB]."""
    settings = PlanSettings(
        n_ctx=s.n_ctx,
        flash_attn=s.flash_attn,
        n_parallel=s.n_parallel,
        kv_unified=s.kv_unified,
        swa_full=s.swa_full,
        n_ubatch=s.n_ubatch,
        kv_type_k=s.kv_type,
        kv_type_v=s.kv_type,
        ngl=0,
    )
    _, devs = device_memory(spec, CPU_BOX, settings, s.n_ctx, 0, build_profile())
    cpu = devs[-1]
    return {
        "weights": cpu.mapped_bytes / MIB,
        "repack": cpu.repack_bytes / MIB,
        "KV": cpu.kv_bytes / MIB,
        "RS": cpu.recurrent_bytes / MIB,
        "compute": cpu.compute_bytes / MIB,
        "output": cpu.output_bytes / MIB,
    }


def measured(log: Any) -> dict[str, float]:
    """llama.cpp's CPU buffers from its log [MiB]."""
    model = log.buffers.get("model", {})
    return {
        "weights": model.get("CPU_Mapped", 0.0),
        "repack": model.get("CPU_REPACK", 0.0),
        "KV": log.mib("KV"),
        "RS": log.mib("RS"),
        "compute": log.mib("compute"),
        "output": log.mib("output"),
    }


def complete(log: Any) -> bool:
    """Whether a configuration's log section holds exactly one load's buffer lines. llama.cpp
    logs from a worker thread, so under load a few lines of one configuration can land in the
    next one's section (doubling its buffers) or be missing; such runs are loaded again."""
    text = log.log
    return text.count("CPU_Mapped model buffer size") == 1 and text.count("compute buffer size") == 1


def within(pred: float, meas: float) -> bool:
    """Issue 12's acceptance: within 1 % or 1 MiB."""
    return abs(pred - meas) <= max(1.0, 0.01 * meas)


@dataclass(frozen=True)
class Result:
    family: str
    wtype: str
    setting: str
    pred: dict[str, float]
    meas: dict[str, float] | None
    error: str | None = None

    def misses(self) -> dict[str, tuple[float, float]]:
        if self.meas is None:
            return {}
        return {
            k: (round(self.pred[k], 2), self.meas[k]) for k in KINDS if not within(self.pred[k], self.meas[k])
        }


def compare(
    path: str, settings: tuple[Setting, ...], family: str = "", wtype: str = "", timeout_s: float = 300.0
) -> list[Result]:
    """Load the GGUF at ``path`` at every setting (one llama.cpp child process, incomplete logs
    loaded again: see complete()) and pair rigfit's CPU buffers with llama.cpp's."""
    from rigfit.measure.llamacpp_log import run_llamacpp  # lazy: imports xllamacpp helpers

    spec = load_model_source(path)
    cfgs = [run_config(path, s) for s in settings]
    logs = run_llamacpp(cfgs, timeout_s=timeout_s, per_process=len(settings))
    for _ in range(2):
        again = [i for i, log in enumerate(logs) if log.ok and not complete(log)]
        if not again:
            break
        redo = run_llamacpp([cfgs[i] for i in again], timeout_s=timeout_s, per_process=1)
        for i, log in zip(again, redo, strict=True):
            logs[i] = log
    out: list[Result] = []
    for s, log in zip(settings, logs, strict=True):
        pred = predicted(spec, s)
        if not log.ok:
            out.append(Result(family, wtype, s.label, pred, None, log.error or "refused"))
        else:
            out.append(Result(family, wtype, s.label, pred, measured(log)))
    return out


def misses(results: list[Result], bands: dict[str, float] | None = None) -> dict[str, Any]:
    """Per setting label, the buffers outside max(1 MiB, band × measured) (band 1 % unless
    ``bands`` names another for a kind), {kind: (predicted, measured)} [MiB], or the refusal."""
    bands = bands or {}
    bad: dict[str, Any] = {}
    for r in results:
        if r.meas is None:
            bad[r.setting] = f"llama.cpp refused: {r.error}"
            continue
        diff = {
            k: (round(r.pred[k], 2), r.meas[k])
            for k in KINDS
            if abs(r.pred[k] - r.meas[k]) > max(1.0, bands.get(k, 0.01) * r.meas[k])
        }
        if diff:
            bad[r.setting] = diff
    return bad


def sweep(
    families: dict[str, Writer], settings: tuple[Setting, ...], wtypes: tuple[str, ...], tmp: Path
) -> list[Result]:
    """Write every family × weight type, load it at every setting, compare (one llama.cpp child
    process per model file)."""
    out: list[Result] = []
    for fam, writer in families.items():
        for wt in wtypes:
            path = str(writer(tmp / f"{fam}-{wt}.gguf", wtype=wt).path)
            out += compare(path, settings, fam, wt)
    return out
