"""Speculative decoding and multi-token prediction (MTP): the draft's memory and the speed gain.

A speculative step in llama.cpp (``llama-server -md DRAFT`` or ``--spec-type draft-mtp``) drafts
``k`` tokens one after the other with a cheap model (a separate draft model, or the MTP head that
ships inside the target GGUF), then runs the target once on a batch of ``k + 1`` tokens to verify
them. With a per-token acceptance probability ``a`` (independent tokens), the expected tokens
produced per step is [1] (eq. 1)::

    E(a, k) = (1 − a^(k+1)) / (1 − a)                                  [tokens / step]

and the decode rate is ``E / t_step`` with::

    t_step = t_verify(k + 1) + k · t_draft                             [s]
    t_verify(n) = t_target · (1 + (n − 1) · (β + s_exp · η))            [s]

``t_target`` is one plain decode step of the target (rigfit's speed model). A small verify batch
reads the weights once, so while decode is bandwidth-bound it costs about one step; ``β`` is the
measured growth per extra token (batched kernels, sampling, KV writes) and ``η`` the extra routed
expert reads per extra token of an MoE model (``s_exp``: the experts' share of the bytes a token
reads; different tokens route to different experts). ``t_draft`` is one decode step of the draft
model on its devices, or for MTP ``ρ_mtp · t_target`` with ``ρ_mtp`` = (one layer + output head)
/ bytes per token: the MTP head is one extra decoder layer plus the output projection.

llama.cpp reports ``draft acceptance rate = accepted / generated`` over drafted tokens, which
depends on ``k``: ``r = a (1 − a^k) / (k (1 − a))`` (:func:`llamacpp_rate`), so the published
rates are turned into per-token ``a`` (:func:`acceptance_from_llamacpp_rate`) before they are
pooled by task. The task bands (:data:`TASK_ACCEPTANCE`) and ``β``, ``η`` are fitted by
``benchmarks/speculative_published.py`` on ``data/ground-truth/speculative.csv`` (one source URL
per row).

Memory (llama.cpp ``common_speculative_init`` and ``llama_context``, measured with xllamacpp
2026.10.11549, tests/estimate/test_speculative_llamacpp.py): a draft model gets its own
``llama_context`` with the target's ``n_ctx``, ``n_batch``, ``n_ubatch`` and slots, its own KV
cache (``-ctkd``/``-ctvd``, f16 by default), compute and output buffers, on the devices ``-devd``
names with ``-ngld`` layers (default: all). The target context reserves ``k + 1`` output rows
(``n_outputs_max``), which does not change its buffers. MTP: llama.cpp skips the GGUF's NextN
block (``blk.N.nextn.*`` past the trunk) unless MTP is on; with it, the block's weights load on
the output layer's device and an MTP context adds a KV cache for the MTP layer(s) only
(ggml-org/llama.cpp#25980) and a one-layer compute graph (:func:`mtp_compute_bytes`), measured on
synthetic glm4moe GGUFs (tests/glm4moe_synth.py).

References
----------
[1] Y. Leviathan, M. Kalman, Y. Matias, "Fast Inference from Transformers via Speculative
    Decoding", ICML 2023, https://arxiv.org/abs/2211.17192
[2] llama.cpp MTP support, https://github.com/ggml-org/llama.cpp/pull/22673
[3] llama.cpp server speculative decoding, https://github.com/ggml-org/llama.cpp/pull/10455
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rigfit.catalog.arch import Architecture, ModelSpec, TensorInfo, block_index
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate import summarycache
from rigfit.estimate.placement import CPU, Placement, accelerator_names
from rigfit.estimate.speed import ModelWork, model_work
from rigfit.estimate.tablecache import IdentityCache
from rigfit.figures import Figure
from rigfit.units import MIB

if TYPE_CHECKING:  # the plan types import this module's settings (no cycle at run time)
    from rigfit.hardware.devices import Machine
    from rigfit.plantypes import DeviceMemory, PlanSettings

#: llama.cpp's default draft length ``--spec-draft-n-max`` / ``--draft-max`` and minimum
#: (common/common.h ``common_params_speculative_draft``: n_max = 3, n_min = 0 in the 2026-10
#: build, b11549, as read from xllamacpp 2026.10.11549's CommonParams defaults;
#: https://github.com/ggml-org/llama.cpp/blob/master/common/common.h).
DEFAULT_DRAFT_MAX = 3
DEFAULT_DRAFT_MIN = 0
#: Largest vocabulary size difference llama.cpp accepts between target and draft
#: (common/speculative.cpp SPEC_VOCAB_MAX_SIZE_DIFFERENCE,
#: https://github.com/ggml-org/llama.cpp/blob/master/common/speculative.cpp).
VOCAB_MAX_SIZE_DIFFERENCE = 128
#: Largest draft length accepted (llama.cpp has no hard limit; beyond this E saturates).
MAX_DRAFT = 64

#: Per-token acceptance ``a`` by task: (p10, median, p90) over published llama.cpp MTP and
#: draft-model runs, each llama.cpp rate converted with :func:`acceptance_from_llamacpp_rate`.
#: Fitted by benchmarks/speculative_published.py on data/ground-truth/speculative.csv
#: (code n=8, chat n=8, mixed n=10; reasoning has one published row, so it uses the mixed band).
TASK_ACCEPTANCE: dict[str, tuple[float, float, float]] = {
    "code": (0.794, 0.869, 0.926),
    "chat": (0.597, 0.791, 0.878),
    "mixed": (0.812, 0.842, 0.872),
}
TASK_ALIASES = {"reasoning": "mixed", "agents": "mixed", "rag": "chat", "prose": "chat"}
TASKS = (*TASK_ACCEPTANCE, *TASK_ALIASES)
DEFAULT_TASK = "mixed"

#: Verify-batch growth per extra token relative to one decode step (β) and extra routed-expert
#: reads per extra token relative to one token's expert reads (η): fitted by
#: benchmarks/speculative_published.py on data/ground-truth/speculative.csv (least squares on
#: log tok/s, 13 rows with a measured baseline).
VERIFY_GROWTH_PER_TOKEN = 0.18
MOE_EXPERT_GROWTH_PER_TOKEN = 0.36
#: Relative half-width of the step-cost band: p90 of the leave-one-source-out |error| of the fit
#: (benchmarks/speculative_published.py).
STEP_COST_REL_BAND = 0.32

SPEC_SOURCE = (
    "estimated: E = (1 − a^(k+1))/(1 − a) tokens per step (Leviathan et al. 2023, "
    "https://arxiv.org/abs/2211.17192) over draft + verify time; acceptance band from published "
    "llama.cpp runs (data/ground-truth/speculative.csv)"
)


# ---------------------------------------------------------------------------------------------
# settings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecSettings:
    """Speculative decoding asked for (llama-server flag in brackets).

    draft: the draft model (``-md``), None for MTP. mtp: use the model's MTP head
    (``--spec-type draft-mtp``). draft_max / draft_min: tokens drafted per step (``--draft-max`` /
    ``--draft-min``). ngl_draft: draft layers on the GPU(s) (``-ngld``; None = all). device_draft:
    the draft's device (``-devd``: a name like CUDA1, or "none" for the CPU; None = the target's
    devices). accept_rate: per-token acceptance given by the user (None = the task's band).
    task: code | chat | mixed (… aliases). kv_type_k / kv_type_v: draft KV types (``-ctkd``/``-ctvd``).
    """

    draft: ModelSpec | None = field(default=None, compare=False, repr=False)
    mtp: bool = False
    draft_max: int = DEFAULT_DRAFT_MAX
    draft_min: int = DEFAULT_DRAFT_MIN
    ngl_draft: int | None = None
    device_draft: str | None = None
    accept_rate: float | None = None
    task: str = DEFAULT_TASK
    kv_type_k: str = "f16"
    kv_type_v: str = "f16"
    draft_key: str | None = None  # what makes two drafts equal (the model itself is not compared)

    @property
    def kind(self) -> str:
        return "mtp" if self.mtp else "draft"

    def to_json(self) -> dict:
        d = self.draft
        return {
            "kind": self.kind,
            "draft_model": None
            if d is None
            else {"id": d.arch.id, "file_type": d.file_type, "path": d.path, "origin": d.origin},
            "draft_max": self.draft_max,
            "draft_min": self.draft_min,
            "ngl_draft": self.ngl_draft,
            "device_draft": self.device_draft,
            "accept_rate": self.accept_rate,
            "task": self.task,
            "kv_type_k": self.kv_type_k,
            "kv_type_v": self.kv_type_v,
        }


def n_mtp_layers(model: ModelSpec) -> int:
    """MTP (NextN) layers a model carries: GGUF ``<arch>.nextn_predict_layers``, HF
    ``num_nextn_predict_layers`` (catalog ``n_nextn_layers``) [layers]; 0 when none or when the
    GGUF is trunk-only (``nextn_in_gguf`` false)."""
    extra = model.arch.extra or {}
    n = int(extra.get("n_nextn_layers") or extra.get("nextn_predict_layers") or 0)
    if n and model.origin != "catalog" and not extra.get("nextn_in_gguf", True):
        return 0
    if n and not mtp_tensors(model):
        return 0  # the tensor table has no MTP block (a trunk-only file)
    return n


def resolve_task(task: str) -> str:
    """A task name → the key of :data:`TASK_ACCEPTANCE` (aliases: reasoning, agents → mixed …)."""
    t = task.strip().lower()
    t = TASK_ALIASES.get(t, t)
    if t not in TASK_ACCEPTANCE:
        raise RigfitError(f"--task must be one of {', '.join(TASKS)}; got {task!r}.")
    return t


def _same_vocab_hint(target: Architecture) -> str:
    """Suggest catalog drafts with the target's vocabulary size, its own family first, smallest
    first (llama.cpp also compares the tokens, so the same family is the safe choice)."""
    size = target.total_params or 0
    same = sorted(
        (
            a
            for a in load_models()
            if abs(a.n_vocab - target.n_vocab) <= VOCAB_MAX_SIZE_DIFFERENCE
            and a.total_params
            and (not size or a.total_params * 4 <= size)
        ),
        key=lambda a: (a.family != target.family, a.total_params or 0),
    )
    if not same:
        return "Pick a much smaller model of the target's family (same tokenizer)."
    names = ", ".join(a.id for a in same[:3])
    return f"Catalog models with the target's vocabulary size (same family first): {names}."


def spec_settings(
    target: ModelSpec,
    *,
    draft: ModelSpec | None = None,
    mtp: bool = False,
    draft_max: int | None = None,
    draft_min: int | None = None,
    ngl_draft: int | None = None,
    device_draft: str | None = None,
    accept_rate: float | None = None,
    task: str = DEFAULT_TASK,
    kv_type_draft: str = "f16",
) -> SpecSettings | None:
    """Check the speculative options of ``rigfit plan``; None when neither a draft nor MTP is asked."""
    if draft is None and not mtp:
        for flag, v in (
            ("--draft-max", draft_max),
            ("--draft-min", draft_min),
            ("--gpu-layers-draft", ngl_draft),
            ("--device-draft", device_draft),
            ("--accept-rate", accept_rate),
        ):
            if v is not None:
                raise RigfitError(f"{flag} needs --draft MODEL or --mtp.", "e.g. --draft qwen3-0.6b")
        return None
    if draft is not None and mtp:
        raise RigfitError(
            "Give either --draft MODEL or --mtp, not both.",
            "--mtp uses the MTP head inside the target GGUF; --draft loads a second model.",
        )
    if mtp and n_mtp_layers(target) == 0:
        raise RigfitError(
            f"{target.arch.name or target.arch.id} has no MTP (NextN) layers in this file "
            "(GGUF <arch>.nextn_predict_layers / HF num_nextn_predict_layers).",
            "Use a GGUF with the MTP head, or a separate draft model with --draft.",
        )
    if draft is not None and abs(draft.arch.n_vocab - target.arch.n_vocab) > VOCAB_MAX_SIZE_DIFFERENCE:
        raise RigfitError(
            f"The draft's vocabulary ({draft.arch.n_vocab:,} tokens) differs from the target's "
            f"({target.arch.n_vocab:,}) by more than {VOCAB_MAX_SIZE_DIFFERENCE}: llama.cpp needs "
            "a draft with the same tokenizer.",
            _same_vocab_hint(target.arch),
        )
    k = DEFAULT_DRAFT_MAX if draft_max is None else draft_max
    k_min = DEFAULT_DRAFT_MIN if draft_min is None else draft_min
    if not 1 <= k <= MAX_DRAFT:
        raise RigfitError(f"--draft-max must be 1…{MAX_DRAFT}, got {k}.", "llama.cpp's default is 3.")
    if not 0 <= k_min <= k:
        raise RigfitError(f"--draft-min must be 0…--draft-max ({k}), got {k_min}.")
    if ngl_draft is not None and ngl_draft < -1:
        raise RigfitError(f"--gpu-layers-draft must be ≥ 0 or -1 (all), got {ngl_draft}.")
    if accept_rate is not None and not 0.0 <= accept_rate < 1.0:
        raise RigfitError(
            f"--accept-rate must be a fraction 0…0.99, got {accept_rate:g}.",
            "It is the per-token acceptance; llama.cpp logs 'draft acceptance rate' per drafted token.",
        )
    return SpecSettings(
        draft=draft,
        draft_key=None if draft is None else f"{draft.arch.id}:{draft.file_type}:{draft.path}",
        mtp=mtp,
        draft_max=k,
        draft_min=k_min,
        ngl_draft=None if ngl_draft is None or ngl_draft < 0 else ngl_draft,
        device_draft=device_draft,
        accept_rate=accept_rate,
        task=resolve_task(task),
        kv_type_k=kv_type_draft,
        kv_type_v=kv_type_draft,
    )


# ---------------------------------------------------------------------------------------------
# acceptance and tokens per step
# ---------------------------------------------------------------------------------------------


def expected_tokens_per_step(accept: float, draft_max: int) -> float:
    """E(a, k) = (1 − a^(k+1)) / (1 − a) [tokens/step] for per-token acceptance ``a`` [0…1) and
    ``k`` drafted tokens (Leviathan et al. 2023, eq. 1); k + 1 at a → 1."""
    if accept >= 1.0:
        return float(draft_max + 1)
    return (1.0 - accept ** (draft_max + 1)) / (1.0 - accept)


def llamacpp_rate(accept: float, draft_max: int) -> float:
    """llama.cpp's ``draft acceptance rate`` (accepted / drafted tokens) for per-token acceptance
    ``a`` and full drafts of ``k`` tokens: (E − 1) / k = a (1 − a^k) / (k (1 − a))."""
    return (expected_tokens_per_step(accept, draft_max) - 1.0) / draft_max


def acceptance_from_llamacpp_rate(rate: float, draft_max: float) -> float:
    """Per-token acceptance ``a`` whose :func:`llamacpp_rate` over ``k`` drafted tokens is
    ``rate`` (bisection; ``k`` may be a mean draft length) [0…1)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be 0…1, got {rate}")
    lo, hi = 0.0, 1.0 - 1e-9
    for _ in range(80):
        mid = (lo + hi) / 2
        r = mid * (1 - mid**draft_max) / (draft_max * (1 - mid))
        lo, hi = (mid, hi) if r < rate else (lo, mid)
    return (lo + hi) / 2


# ---------------------------------------------------------------------------------------------
# step cost
# ---------------------------------------------------------------------------------------------


def expert_share(work: ModelWork) -> float:
    """Routed experts' share of the weight bytes one token reads [0…1]."""
    total = work.bytes_per_token
    if total <= 0 or not work.n_expert:
        return 0.0
    return work.expert_fraction * sum(work.layer_expert_bytes) / total


def mtp_draft_ratio(model: ModelSpec, work: ModelWork) -> float:
    """Time of one MTP draft step over one target decode step (bandwidth-bound) [1]:
    bytes the MTP block reads per token (its ``blk.N`` tensors past the trunk, routed experts at
    their top-k share, its own ``shared_head_head`` or else the output matrix) over the bytes a
    trunk token reads (layers, output matrix, one embedding row)."""
    arch = model.arch
    frac = work.expert_fraction
    mtp = [t for t in model.tensors if t.layer is not None and t.layer >= arch.n_layer]
    if not mtp:  # no MTP block in the tensor table: one mean trunk layer stands in for it
        mean_layer = sum(work.layer_bytes_per_token(i) for i in range(work.n_layer)) / max(work.n_layer, 1)
        mtp_bytes = mean_layer
    else:
        mtp_bytes = sum(
            t.n_bytes * (frac if "_exps" in t.name else 1.0)
            for t in mtp
            if "embed_tokens" not in t.name  # one row per token, like the trunk's embedding
        )
    output = sum(t.n_bytes for t in model.tensors if t.name == "output.weight")
    if not output:  # tied embeddings: the output matrix is the token embedding
        output = sum(t.n_bytes for t in model.tensors if t.name == "token_embd.weight")
    if not any("shared_head_head" in t.name for t in mtp):
        mtp_bytes += output
    trunk = sum(work.layer_bytes_per_token(i) for i in range(work.n_layer)) + output + work.embd_row_bytes
    return mtp_bytes / trunk if trunk > 0 else 0.0


def verify_cost_ratio(
    n_tokens: int,
    expert_share_: float = 0.0,
    beta: float = VERIFY_GROWTH_PER_TOKEN,
    eta: float = MOE_EXPERT_GROWTH_PER_TOKEN,
) -> float:
    """Time of a target pass over ``n_tokens`` over one decode step [1]: 1 + (n − 1)(β + s_exp·η)."""
    return 1.0 + (n_tokens - 1) * (beta + expert_share_ * eta)


def step_cost_ratio(
    draft_max: int,
    draft_ratio: float,
    expert_share_: float = 0.0,
    beta: float = VERIFY_GROWTH_PER_TOKEN,
    eta: float = MOE_EXPERT_GROWTH_PER_TOKEN,
) -> float:
    """One speculative step over one plain decode step [1]: verify(k + 1) + k · t_draft/t_target."""
    return verify_cost_ratio(draft_max + 1, expert_share_, beta, eta) + draft_max * draft_ratio


def speedup(
    accept: float,
    draft_max: int,
    draft_ratio: float,
    expert_share_: float = 0.0,
    beta: float = VERIFY_GROWTH_PER_TOKEN,
    eta: float = MOE_EXPERT_GROWTH_PER_TOKEN,
) -> float:
    """Speculative decode rate over plain decode [1]: E(a, k) / step_cost_ratio."""
    e = expected_tokens_per_step(accept, draft_max)
    return e / step_cost_ratio(draft_max, draft_ratio, expert_share_, beta, eta)


def speculative_bound_factor(draft_max: int | None = None) -> float:
    """Most tokens per step any published acceptance allows [tokens/step]: E at the top of the
    widest task band with ``draft_max`` drafted tokens (default :data:`BOUND_DRAFT_MAX`). Used by
    ``rigfit check`` as the speculative bound's factor."""
    a_max = max(hi for _, _, hi in TASK_ACCEPTANCE.values())
    return expected_tokens_per_step(a_max, draft_max or BOUND_DRAFT_MAX)


#: Draft length of the speculative bound [tokens]: 16, the ``--draft-max`` llama.cpp's server
#: speculative decoding was introduced with (https://github.com/ggml-org/llama.cpp/pull/10455);
#: the largest published runs use 16 (data/ground-truth/speculative.csv).
BOUND_DRAFT_MAX = 16
#: An MTP draft step relative to a target decode step for the claims' prediction band [1]: one
#: layer plus the output head, 4.8 % for Qwen3-32B and 6.7 % for GLM-4.5-Air at Q4_K_M
#: (:func:`mtp_draft_ratio` on the catalog).
CHEAP_DRAFT_RATIO = 0.05


# ---------------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftBuffers:
    """The speculative context's buffers on one device [B]."""

    device: str
    weights_bytes: int = 0
    kv_bytes: int = 0
    compute_bytes: int = 0
    output_bytes: int = 0
    overhead_bytes: int = 0
    uncertainty_bytes: int = 0
    backend_bytes: int = 0  # the GPU backend's context: added only where the target has none

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes + self.kv_bytes + self.compute_bytes + self.output_bytes + self.overhead_bytes
        )

    def to_json(self) -> dict:
        return {
            "device": self.device,
            "weights_bytes": self.weights_bytes,
            "kv_bytes": self.kv_bytes,
            "compute_bytes": self.compute_bytes,
            "output_bytes": self.output_bytes,
            "overhead_bytes": self.overhead_bytes,
            "total_bytes": self.total_bytes,
            "uncertainty_bytes": self.uncertainty_bytes,
            "backend_bytes": self.backend_bytes,
        }


#: Signature of rigfit.plan.device_memory (passed in to avoid an import cycle).
DeviceMemoryFn = Callable[..., tuple[Placement, list["DeviceMemory"]]]


def add_draft_buffers(devs: list[DeviceMemory], bufs: list[DraftBuffers]) -> None:
    """Add the speculative context's buffers to the devices' rows (``draft_bytes``, band)."""
    by_name = {d.name: d for d in devs}
    for b in bufs:
        d = by_name.get(b.device)
        if d is None or not b.total_bytes:
            continue
        d.draft_bytes += b.total_bytes
        d.uncertainty_bytes += b.uncertainty_bytes
        if b.backend_bytes and not d.overhead_bytes:  # -devd on a GPU the target leaves unused
            d.overhead_bytes = b.backend_bytes
            d.overhead_source = "backend context of the draft model's GPU (-devd)"


def draft_tensor_split(machine: Machine, device: str | None) -> tuple[float, ...] | None:
    """``-devd NAME`` as a one-hot ``-ts`` over the machine's GPUs (None: the target's split)."""
    if device is None or device.lower() == "none":
        return None
    names = accelerator_names(machine)
    if device not in names:
        raise RigfitError(
            f"--device-draft {device!r} is not a device of this machine.",
            f"Devices: {', '.join([*names, 'none'])}.",
        )
    return tuple(1.0 if n == device else 0.0 for n in names)


def draft_machine(machine: Machine, spec: SpecSettings) -> Machine:
    """The devices the draft context sees: ``-devd none`` leaves it only the CPU (no GPU backend,
    so no GPU compute buffer either); otherwise the target's machine."""
    if spec.device_draft is not None and spec.device_draft.lower() == "none":
        return replace(machine, accelerators=(), unified_memory=False)
    return machine


def draft_settings(settings: PlanSettings, spec: SpecSettings) -> PlanSettings:
    """The llama.cpp settings of the draft's context: the target's context, batch and slots, the
    draft's KV types and placement (-ngld / -devd)."""
    return replace(
        settings,
        speculative=None,
        ngl=spec.ngl_draft,
        kv_type_k=spec.kv_type_k,
        kv_type_v=spec.kv_type_v,
        cpu_moe=False,
        n_cpu_moe=0,
        tensor_split=None,
    )


def draft_buffers(
    target: ModelSpec,
    machine: Machine,
    settings: PlanSettings,
    n_ctx: int,
    target_pl: Placement,
    profile: mem.BuildProfile,
    size_model: DeviceMemoryFn,
    host_fixed_bytes: int = 0,
) -> list[DraftBuffers]:
    """Buffers of the speculative context per device [B] (draft model or MTP head).

    size_model: rigfit.plan.device_memory (sizes the draft like any model); host_fixed_bytes: the
    llama.cpp process's fixed host memory, already counted for the target."""
    spec = settings.speculative
    if spec is None:
        return []
    if spec.mtp:
        return _mtp_buffers(target, settings, n_ctx, target_pl, profile)
    assert spec.draft is not None
    ds = draft_settings(settings, spec)
    split = draft_tensor_split(machine, spec.device_draft)
    ds = replace(ds, tensor_split=split)
    _, devs = size_model(spec.draft, draft_machine(machine, spec), ds, n_ctx, ds.ngl, profile)
    out = []
    for d in devs:
        # the process and its backend contexts exist once: the draft adds its own vocabulary
        # tables on the host, and nothing for a GPU the target already uses
        overhead = 0
        if d.kind == "cpu":
            overhead = max(0, d.overhead_bytes - host_fixed_bytes)
        out.append(
            DraftBuffers(
                device=d.name,
                weights_bytes=d.weights_bytes,
                kv_bytes=d.kv_bytes + d.recurrent_bytes,
                compute_bytes=d.compute_bytes,
                output_bytes=d.output_bytes,
                overhead_bytes=overhead,
                uncertainty_bytes=d.uncertainty_bytes,
                backend_bytes=d.overhead_bytes if d.kind != "cpu" else 0,
            )
        )
    return out


def mtp_tensors(model: ModelSpec) -> list[TensorInfo]:
    """The MTP (NextN) block's tensors: ``blk.N.*`` past the trunk's layers."""
    return [t for t in model.tensors if t.layer is not None and t.layer >= model.arch.n_layer]


def trunk_model(model: ModelSpec) -> ModelSpec:
    """The model as llama.cpp loads it without MTP: the NextN block is skipped (measured with
    xllamacpp 2026.10.11549 on a synthetic glm4moe GGUF: 6.25 MiB of weights without
    ``--spec-type draft-mtp``, 9.56 MiB with it). The same object when there is no MTP block."""
    n_layer = model.arch.n_layer
    ref = summarycache.ref_of(model)
    if ref is not None:  # a catalog table, maybe unbuilt: whether it has an MTP block is kept
        trunk_ref = _TRUNK_REFS.get(ref, n_layer, lambda: _ref_trunk(ref, n_layer))
        if trunk_ref is None:
            return model
        out = replace(model, tensors=None)  # type: ignore[arg-type]  # a CatalogSpec: built if read
        out.__dict__["_table_ref"] = trunk_ref
        return out
    tensors = model.tensors
    if isinstance(tensors, tuple):  # an immutable table: worked out once (planning asks ~10⁴ times)
        trunk = _TRUNK_TENSORS.get(tensors, n_layer, lambda: _summarised_trunk(tensors, n_layer))
    else:
        trunk = _trunk_tensors(tensors, n_layer)
    return model if trunk is None else replace(model, tensors=trunk)


def _ref_trunk(ref: summarycache.TableRef, n_layer: int) -> summarycache.TableRef | None:
    """The :class:`~rigfit.estimate.summarycache.TableRef` of a catalog table's trunk, or None
    when it has no MTP block (kept on disk). The trunk table is built (from the whole table) only
    when something reads it: its names and weights bytes come without it, and its summaries are
    kept under the key :func:`_summarised_trunk` registers it with (issue 15: a ladder built the
    whole tables of the MTP models only to drop their MTP block)."""
    has_mtp = summarycache.get(
        "mtp",
        f"{ref.key}:{n_layer}",
        lambda: _trunk_tensors(ref.table(), n_layer) is not None,
        bool,
        lambda raw: raw if isinstance(raw, bool) else _bad(),
    )
    if not has_mtp:
        return None
    key = f"{ref.key}:trunk{n_layer}"  # what summarycache.register_derived names it
    lock = threading.Lock()
    kept: dict[str, Any] = {}

    def table() -> tuple[TensorInfo, ...]:
        with lock:
            if "table" not in kept:
                trunk = _summarised_trunk(ref.table(), n_layer)
                kept["table"] = ref.table() if trunk is None else trunk  # (None: not reached)
            return kept["table"]  # type: ignore[no-any-return]

    def names() -> tuple[str, ...]:
        with lock:
            if "names" not in kept:
                kept["names"] = tuple(
                    n for n in ref.names() if (il := block_index(n)) is None or il < n_layer
                )
            return kept["names"]  # type: ignore[no-any-return]

    def weights() -> int:
        return summarycache.get(
            "trunkw",
            key,
            lambda: sum(t.n_bytes for t in table()),
            int,
            lambda raw: raw if type(raw) is int else _bad(),
        )

    return summarycache.TableRef(key, ref.arch, ref.file_type, table, names, weights)


#: The trunk's table reference of each catalog table reference (None: no MTP block), per layer count.
_TRUNK_REFS: IdentityCache[summarycache.TableRef | None] = IdentityCache(4096)


#: The trunk table of each tensor table (rigfit.estimate.tablecache), the same tuple every time.
_TRUNK_TENSORS: IdentityCache[tuple[TensorInfo, ...] | None] = IdentityCache(4096)


def _summarised_trunk(tensors: tuple[TensorInfo, ...], n_layer: int) -> tuple[TensorInfo, ...] | None:
    """:func:`_trunk_tensors` of a catalog table, whose MTP block or its absence is kept on disk
    (rigfit.estimate.summarycache); the trunk of a table with one is registered as a table too."""
    key = summarycache.table_key(tensors)
    if key is None:
        return _trunk_tensors(tensors, n_layer)
    has_mtp = summarycache.get(
        "mtp",
        f"{key}:{n_layer}",
        lambda: _trunk_tensors(tensors, n_layer) is not None,
        bool,
        lambda raw: raw if isinstance(raw, bool) else _bad(),
    )
    if not has_mtp:
        return None
    trunk = _trunk_tensors(tensors, n_layer)
    if trunk is not None:
        summarycache.register_derived(trunk, tensors, f"trunk{n_layer}")
    return trunk


def _bad() -> bool:
    raise ValueError("not a summary")


def _trunk_tensors(tensors: Sequence[TensorInfo], n_layer: int) -> tuple[TensorInfo, ...] | None:
    """The tensors without the MTP block, or None when there is none."""
    if not any((il := block_index(t.name)) is not None and il >= n_layer for t in tensors):
        return None  # (block_index: what TensorInfo.layer is, without keeping it on every row)
    return tuple(t for t in tensors if t.layer is None or t.layer < n_layer)


#: f32 values per token live in the MTP graph's input stage (token embedding, its norm, the
#: target's hidden state, its norm, their concat, eh_proj): 8·n_embd. Fitted with
#: :func:`mtp_compute_bytes` on synthetic glm4moe GGUFs against xllamacpp 2026.10.11549
#: (tests/estimate/test_speculative_llamacpp.py).
MTP_INPUT_STAGE_EMBD = 8
#: Below this context [tokens] the MTP compute buffer is known to ±40 % only (see above).
MTP_SHORT_CTX = 8192


def mtp_compute_bytes(arch: Architecture, ls: mem.LlamaSettings, profile: mem.BuildProfile) -> int:
    """Compute buffer of the MTP context [B], the peak of its one-layer graph over n_t tokens with
    a KQ mask M = n_kv · n_t (f16 with flash attention, f32 without):

        input / attention stage: n_t·4·max(8·n_embd, 4·n_embd + 2·q + 2·(k + v)) + 2·M
        FFN stage:               n_t·4·ffn_stage_per_token (the trunk's rule) + M
        C = max(both) + n_t·40 B of graph inputs [+ 2·n_t·n_head·n_kv·4 for KQ without FA]

    Measured (FA on, 30 configurations of 5 shapes, n_ctx 1K–32K): within 1 MiB from 8K tokens
    on; at 1K–4K tokens the FFN stage keeps both masks on some shapes and the buffer is up to
    5 MiB larger (the ±40 % band below n_ctx 8192)."""
    n_t = mem.n_reserve_tokens(arch, ls, profile)
    _, _, n_stream = mem.context_sizes(arch, ls, profile)
    full = [il for il in range(arch.n_layer) if mem.layer_has_kv(arch, il) and not arch.is_swa(il)]
    il = full[-1] if full else arch.n_layer - 1
    n_kv = mem.kv_cells(arch, il, ls, profile) // n_stream
    fa = ls.fa_enabled
    mask = n_kv * n_t * (2 if fa else 4)
    q = arch.n_head * arch.n_embd_head_k
    kv = arch.head_kv(il) * (arch.n_embd_head_k + arch.n_embd_head_v)
    front = n_t * 4 * max(MTP_INPUT_STAGE_EMBD * arch.n_embd, 4 * arch.n_embd + 2 * q + 2 * kv) + 2 * mask
    ffn = n_t * 4 * mem.ffn_stage_per_token(arch, il, fa) + mask
    out = max(front, ffn) + n_t * 40
    if not fa:
        out += 2 * n_t * arch.n_head * n_kv * 4
    return out


def _mtp_buffers(
    target: ModelSpec, settings: PlanSettings, n_ctx: int, pl: Placement, profile: mem.BuildProfile
) -> list[DraftBuffers]:
    """The MTP context [B]: the NextN block's weights (loaded only with MTP) and a KV cache for
    the MTP layer(s) at the target's context and slots, and its compute buffer, on the output
    layer's device; its logits buffer (n_vocab × slots × 4) in host memory."""
    arch = target.arch
    ls = settings.llama(n_ctx)
    full = [il for il in range(arch.n_layer) if mem.layer_has_kv(arch, il) and not arch.is_swa(il)]
    il = full[-1] if full else arch.n_layer - 1
    kv = n_mtp_layers(target) * sum(mem.kv_layer_bytes(arch, il, ls, profile)) if full else 0
    compute = mtp_compute_bytes(arch, ls, profile)
    dev = pl.output_device
    short = mem.effective_n_ctx(arch, ls, profile) < MTP_SHORT_CTX
    band = int(0.4 * compute) if short or not ls.fa_enabled else max(MIB, int(0.01 * compute))
    main = DraftBuffers(
        device=dev,
        weights_bytes=sum(t.n_bytes for t in mtp_tensors(target)),
        kv_bytes=kv,
        compute_bytes=compute,
        uncertainty_bytes=band if dev == CPU else int(0.2 * compute),
    )
    host = DraftBuffers(device=CPU, output_bytes=mem.output_buffer_bytes(arch, ls))
    if dev == CPU:
        return [replace(main, output_bytes=host.output_bytes)]
    return [main, host]


# ---------------------------------------------------------------------------------------------
# speed
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeculativeResult:
    """The speculative decode estimate of a plan.

    kind: draft | mtp. draft_max: k. acceptance: per-token acceptance (looked up from the task
    band, or given). llamacpp_rate: the 'draft acceptance rate' llama.cpp would log.
    tokens_per_step: E. draft_ratio: t_draft / t_target. step_cost: t_step / t_target.
    decode_tps: speculative decode at depth 0; speedup: over plain decode.
    memory: the speculative context's buffers per device [B].
    """

    kind: str
    draft_max: int
    task: str
    acceptance: Figure
    llamacpp_rate: float
    tokens_per_step: Figure
    draft_ratio: float
    expert_share: float
    step_cost: float
    decode_tps: Figure | None
    speedup: Figure
    memory: tuple[DraftBuffers, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "draft_max": self.draft_max,
            "task": self.task,
            "acceptance": self.acceptance.to_json(),
            "llamacpp_accept_rate": self.llamacpp_rate,
            "tokens_per_step": self.tokens_per_step.to_json(),
            "draft_step_over_target_step": self.draft_ratio,
            "expert_share": self.expert_share,
            "step_cost_over_decode_step": self.step_cost,
            "decode_tps": None if self.decode_tps is None else self.decode_tps.to_json(),
            "speedup": self.speedup.to_json(),
            "memory": {
                "unit": "bytes",
                "provenance": "estimated (llama.cpp allocation rules for the speculative context, "
                "checked against xllamacpp: draft model and MTP buffers to 1 % / 1 MiB; MTP compute "
                "±40 % below 8K context)",
                "devices": [b.to_json() for b in self.memory],
            },
            "notes": list(self.notes),
        }


def acceptance_figure(spec: SpecSettings) -> Figure:
    """The per-token acceptance used: given (--accept-rate) or the task's published band."""
    if spec.accept_rate is not None:
        return Figure(spec.accept_rate, "fraction", "looked_up", "given (--accept-rate)")
    lo, mid, hi = TASK_ACCEPTANCE[spec.task]
    return Figure(
        mid,
        "fraction",
        "estimated",
        f"task '{spec.task}': p10–p90 of published llama.cpp runs (data/ground-truth/speculative.csv)",
        lo,
        hi,
    )


def speculative_result(
    target: ModelSpec,
    spec: SpecSettings,
    target_tps: Figure | None,
    draft_tps: float | None,
    memory: list[DraftBuffers],
) -> SpeculativeResult:
    """Speculative decode rate from the target's plain decode figure and the draft's speed.

    target_tps: the plan's decode tokens/s at depth 0 (with its band); draft_tps: the draft
    model's decode tokens/s on its devices (None for MTP: derived from bytes)."""
    work = model_work(target)
    s_exp = expert_share(work)
    notes: list[str] = []
    t_target = None if target_tps is None or not target_tps.value else 1.0 / float(target_tps.value)
    if spec.mtp:
        ratio = mtp_draft_ratio(target, work)
    elif draft_tps and t_target:
        ratio = (1.0 / draft_tps) / t_target
    else:
        ratio = model_work(spec.draft).bytes_per_token / work.bytes_per_token if spec.draft else 0.0
        notes.append("draft speed unknown: its step time is taken as its share of the bytes read")
    k = spec.draft_max
    acc = acceptance_figure(spec)
    a_mid = float(acc.value or 0.0)
    a_lo = float(acc.low if acc.low is not None else a_mid)
    a_hi = float(acc.high if acc.high is not None else a_mid)
    e_mid, e_lo, e_hi = (expected_tokens_per_step(a, k) for a in (a_mid, a_lo, a_hi))
    cost = step_cost_ratio(k, ratio, s_exp)
    band_cost = math.log1p(STEP_COST_REL_BAND)
    mid = e_mid / cost
    sp = Figure(
        mid,
        "x",
        "estimated",
        SPEC_SOURCE,
        _combine_low(mid, [(e_lo / e_mid), math.exp(-band_cost)]),
        _combine_high(mid, [(e_hi / e_mid), math.exp(band_cost)]),
    )
    if mid < 1.0:
        notes.append(
            f"Speculative decoding is slower here ({mid:.2f}×): the draft and verify cost "
            "more than the accepted tokens save; try a smaller --draft-max or a cheaper draft."
        )
    tps = None
    if target_tps is not None and target_tps.value:
        v = float(target_tps.value)
        lo = float(target_tps.low if target_tps.low is not None else v)
        hi = float(target_tps.high if target_tps.high is not None else v)
        tps = Figure(
            v * mid,
            "tok/s",
            "estimated",
            SPEC_SOURCE,
            _combine_low(v * mid, [e_lo / e_mid, math.exp(-band_cost), lo / v]),
            _combine_high(v * mid, [e_hi / e_mid, math.exp(band_cost), hi / v]),
        )
    return SpeculativeResult(
        kind=spec.kind,
        draft_max=k,
        task=spec.task,
        acceptance=acc,
        llamacpp_rate=llamacpp_rate(a_mid, k),
        tokens_per_step=Figure(e_mid, "tokens", "estimated", SPEC_SOURCE, e_lo, e_hi),
        draft_ratio=ratio,
        expert_share=s_exp,
        step_cost=cost,
        decode_tps=tps,
        speedup=sp,
        memory=tuple(memory),
        notes=tuple(notes),
    )


def _combine_low(mid: float, factors: list[float]) -> float:
    """Low end of a product of independent uncertain factors: relative bands (each factor's low /
    central, ≤ 1) added in quadrature in log space."""
    return mid * math.exp(-math.sqrt(sum(math.log(min(f, 1.0)) ** 2 for f in factors if f > 0)))


def _combine_high(mid: float, factors: list[float]) -> float:
    """High end, like :func:`_combine_low` (factors: high / central, ≥ 1)."""
    return mid * math.exp(math.sqrt(sum(math.log(max(f, 1.0)) ** 2 for f in factors if f > 0)))


def best_draft_max(accept: float, draft_ratio: float, expert_share_: float = 0.0, top: int = 16) -> int:
    """The draft length 1…top with the highest :func:`speedup` [tokens]."""
    return max(range(1, top + 1), key=lambda k: speedup(accept, k, draft_ratio, expert_share_))


def llama_server_args(spec: SpecSettings | None, model_arg: Callable[[ModelSpec], str]) -> list[str]:
    """llama-server flags for speculative decoding (common/arg.cpp of 2026 builds: ``-md``,
    ``--spec-type draft-mtp``, ``--spec-draft-n-max``/``-n-min``, ``-ngld``, ``-devd``, ``-ctkd``)."""
    if spec is None:
        return []
    args = ["--spec-type", "draft-mtp"] if spec.mtp else ["-md", model_arg(spec.draft)] if spec.draft else []
    args += ["--spec-draft-n-max", str(spec.draft_max)]
    if spec.draft_min:
        args += ["--spec-draft-n-min", str(spec.draft_min)]
    if spec.draft is not None:
        args += ["-ngld", "all" if spec.ngl_draft is None else str(spec.ngl_draft)]
        if spec.device_draft:
            args += ["-devd", spec.device_draft]
        if spec.kv_type_k != "f16":
            args += ["-ctkd", spec.kv_type_k, "-ctvd", spec.kv_type_v]
    return args


def check_engine(runtime: str) -> None:
    """Speculative decoding is modelled for llama.cpp only (one clear line otherwise)."""
    if runtime != "llama.cpp":
        raise RigfitError(
            f"--draft / --mtp are modelled for llama.cpp only, not --runtime {runtime}.",
            "Drop --runtime (llama.cpp is the default) or drop --draft/--mtp.",
        )


# ---------------------------------------------------------------------------------------------
# claims
# ---------------------------------------------------------------------------------------------

#: Words that say a speed claim used speculative decoding (a draft model, MTP, EAGLE, …).
SPEC_WORDS = re.compile(
    r"\b(speculative|spec[- ]?decod\w*|spec-type|mtp|multi[- ]token|draft\w*|eagle\d?|nextn|medusa|"
    r"lookahead|-md)\b",
    re.IGNORECASE,
)


def mentions_speculative(*texts: str | None) -> bool:
    """Whether any text names speculative decoding, a draft model or MTP."""
    return any(t and SPEC_WORDS.search(t) for t in texts)


def best_speedup(draft_ratio: float = 0.0) -> float:
    """Largest speedup over plain decode the published acceptance allows [1]: the top of the
    widest task band, the best draft length 1…16, a draft step costing ``draft_ratio``."""
    a_max = max(hi for _, _, hi in TASK_ACCEPTANCE.values())
    return max(speedup(a_max, k, draft_ratio) for k in range(1, 17))


@dataclass(frozen=True)
class SpeculativeClaimCheck:
    """A decode claim checked against speculative decoding's bounds (``rigfit check``).

    verdict: ok | implausible | impossible. reason: one line. bound: the speculative bound
    [tok/s]. arithmetic: the lines that give it.
    """

    verdict: str
    reason: str
    bound: float
    arithmetic: list[str]


def check_speculative_decode(
    value_tps: float, single_bound_tps: float, predicted: Figure | None, model_has_mtp: bool
) -> SpeculativeClaimCheck:
    """Check a decode claim that mentions (or could come from) speculative decoding.

    Bound: ``single_bound · E(a_max, 16)`` — the single-stream roofline times the most tokens per
    step the top of the published acceptance bands gives with 16 drafted tokens (drafting is not
    free, so the real gain is lower; only acceptance near 1 on repetitive text goes beyond).
    Prediction band: rigfit's plain decode band, its fast end times :func:`best_speedup`
    (an MTP-like draft step, :data:`CHEAP_DRAFT_RATIO`)."""
    factor = speculative_bound_factor()
    bound = single_bound_tps * factor
    a_max = max(hi for _, _, hi in TASK_ACCEPTANCE.values())
    ar = [
        f"speculative decoding: at most E = (1 − a^17)/(1 − a) = {factor:.2f} tokens per target "
        f"pass with per-token acceptance a ≤ {a_max:.2f} (top of the published bands) and 16 "
        f"drafted tokens → bound {single_bound_tps:,.1f} × {factor:.2f} = {bound:,.1f} tok/s"
    ]
    if model_has_mtp:
        ar.append("the model carries MTP (NextN) layers, so the claim could come from MTP")
    if value_tps > bound:
        return SpeculativeClaimCheck(
            "impossible",
            f"{value_tps:,.4g} tok/s is above even the speculative-decoding bound {bound:,.4g} tok/s "
            f"(×{value_tps / bound:,.2f})",
            bound,
            ar,
        )
    need = value_tps / single_bound_tps
    what = (
        f"needs speculative decoding: {need:.2f}× the single-stream bound {single_bound_tps:,.4g} tok/s"
        if value_tps > single_bound_tps
        else "within the single-stream bound"
    )
    if predicted is not None and predicted.value is not None and predicted.high is not None:
        top = float(predicted.high)
        gain = best_speedup(CHEAP_DRAFT_RATIO)
        hi = top * gain
        lo = float(predicted.low if predicted.low is not None else predicted.value)
        ar.append(
            f"rigfit predicts {predicted.value:,.4g} tok/s plain (band {lo:,.4g}–{top:,.4g}); "
            f"with speculative decoding up to ×{gain:.2f} → {hi:,.4g} tok/s"
        )
        if value_tps > hi:
            return SpeculativeClaimCheck(
                "implausible",
                f"{what}; within the speculative bound {bound:,.4g} but above the speculative band "
                f"(≤ {hi:,.4g} tok/s)",
                bound,
                ar,
            )
    return SpeculativeClaimCheck("ok", f"{what}; within the speculative bound {bound:,.4g} tok/s", bound, ar)
