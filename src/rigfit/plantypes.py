"""What a plan is: settings, per-device memory, verdicts, note codes and typed engine results.

Every inference engine (``rigfit.engines``) fills the same :class:`Plan`; the llama.cpp planner
(``rigfit.plan``), the vLLM planner (``rigfit.estimate.vllm``) and the engine registry all import
this module, and it imports none of them (no import cycles).

Logic branches on enums and codes, never on wording: :class:`Verdict` (``Plan.fit``),
:class:`OffloadKind` (``Plan.offload``) and :class:`NoteCode` (``Note.code``). The enums are
``str`` enums, so JSON output and printed text show the same words as before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum, StrEnum
from typing import Any

from rigfit.catalog.arch import ModelSpec, file_type_label
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate.concurrency import Concurrency
from rigfit.estimate.placement import Placement
from rigfit.estimate.speculative import SpecSettings, SpeculativeResult
from rigfit.estimate.speed import SpeedEstimate
from rigfit.estimate.vision import VisionSettings
from rigfit.hardware.devices import Machine
from rigfit.hardware.osreserve import ram_reserve
from rigfit.hashcache import cached_hash
from rigfit.units import GIB

#: Default context when the user gives none [tokens]: Ollama's and llama-cli's long-standing
#: default (llama-server itself defaults to the training context and lets -fit shrink it).
DEFAULT_CTX = 4096
#: Default headroom per device for "fits" [B]: llama.cpp's -fit target (common.h fit_params_target).
DEFAULT_MARGIN = 1 * GIB


class Verdict(StrEnum):
    """A plan's (or one device's) verdict; the value is the word shown in JSON and text."""

    FITS = "fits"
    TIGHT = "tight"
    OFFLOAD = "offload"
    NO = "no"
    HOSTED = "hosted"
    UNKNOWN = "unknown"


class OffloadKind(StrEnum):
    """What an offload plan keeps in RAM: whole layers (-ngl), routed MoE experts, or both."""

    LAYERS = "layers"
    EXPERTS = "experts"
    LAYERS_EXPERTS = "layers+experts"


class NoteCode(Enum):
    """What a plan note is about, for code that filters or picks notes (the text is for people)."""

    LAYERS_OFFLOADED = "layers_offloaded"  # only N of M layers fit on the GPUs
    NGL_TOO_HIGH = "ngl_too_high"  # the -ngl asked does not fit; the largest that does
    MOE_EXPERTS_CHOSEN = "moe_experts_chosen"  # experts in RAM chosen over layer offload
    MOE_LAYERS_CHOSEN = "moe_layers_chosen"  # layer offload chosen over experts in RAM
    TIGHT = "tight"  # under the margin on the fullest device
    HOSTED_DEVICES_SKIPPED = "hosted_devices_skipped"
    HOSTED_SYSTEM = "hosted_system"
    BEYOND_TRAINING_CTX = "beyond_training_ctx"
    DOES_NOT_FIT = "does_not_fit"  # what to try when nothing fits
    HOST_RAM_UNKNOWN = "host_ram_unknown"
    HOST_RAM_BANDWIDTH = "host_ram_bandwidth"  # the host bandwidth the CPU part's speed uses, and its basis
    PARALLEL_SPLITS_CTX = "parallel_splits_ctx"
    MLA_CACHE = "mla_cache"
    BACKEND_ESTIMATED = "backend_estimated"
    CALIBRATION_SKIPPED = "calibration_skipped"
    VLLM_CLAIM = "vllm_claim"
    VLLM_BF16 = "vllm_bf16"
    VLLM_REFUSES = "vllm_refuses"
    ENGINE = "engine"  # a note of a third-party engine


class Note(str):
    """A plan note: its text (a ``str``, so JSON and printing are unchanged) and its ``code``."""

    code: NoteCode

    def __new__(cls, code: NoteCode, text: str) -> Note:
        obj = super().__new__(cls, text)
        obj.code = code
        return obj

    def __deepcopy__(self, memo: dict) -> Note:  # immutable, like str
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return Note, (self.code, str(self))


def note_code(note: str) -> NoteCode | None:
    """The code of a note (None for a plain string)."""
    return getattr(note, "code", None)


def without(notes: list[str], *codes: NoteCode) -> list[str]:
    """``notes`` less those with one of ``codes``."""
    return [n for n in notes if note_code(n) not in codes]


@cached_hash  # (rigfit.hashcache: the same hash, worked out once)
@dataclass(frozen=True)
class PlanSettings:
    """What the user asked for (llama-server / vllm flag in brackets).

    n_ctx: context [tokens] (``-c``); None = DEFAULT_CTX capped at the training context; 0 = the
        training context. ngl: layers on GPUs (``-ngl``; None = all). flash_attn: on|off|auto.
    kv_type_k / kv_type_v: KV cache types. n_parallel: slots (``-np``). kv_unified: (``-kvu``).
    n_ubatch / n_batch: (``-ub`` / ``-b``). swa_full, cpu_moe, n_cpu_moe, no_kv_offload, tensor_split:
    as llama-server. repack: CPU repack buffers (None = by CPU flags).
    runtime: the engine's name (``rigfit.engines``: "llama.cpp", "vllm", or one a package adds).
    llama_build: build profile (estimate/memory.py PROFILES).
    os: the operating system (driver) the speed is for: windows | linux | macos | unknown (the
        default: no driver factor, wider speed bands; estimate/speed/osdriver.py).
    prompt_tokens: prompt length for the speed estimate. margin_bytes: headroom for "fits".
    gpu_memory_utilization, max_num_seqs: vLLM settings.
    users / output_tokens / min_tps: ``--users N`` concurrency (requests in flight, tokens generated
        per request, per-user decode floor [tok/s]); users 0 = no concurrency section.
    speculative: a draft model or MTP head (``-md`` / ``--spec-type draft-mtp``), None = off.
    """

    n_ctx: int | None = None
    ngl: int | str | None = None
    flash_attn: str = "auto"
    kv_type_k: str = "f16"
    kv_type_v: str = "f16"
    n_parallel: int = 1
    kv_unified: bool = False
    n_ubatch: int = 512
    n_batch: int = 2048
    swa_full: bool = False
    cpu_moe: bool = False
    n_cpu_moe: int = 0
    no_kv_offload: bool = False
    tensor_split: tuple[float, ...] | None = None
    repack: bool | None = None
    runtime: str = "llama.cpp"
    llama_build: str | None = None
    prompt_tokens: int = 512
    margin_bytes: int = DEFAULT_MARGIN
    gpu_memory_utilization: float = 0.9
    max_num_seqs: int | None = None
    users: int = 0
    output_tokens: int = 256
    min_tps: float | None = None
    speculative: SpecSettings | None = None
    vision: VisionSettings | None = None  # --mmproj / --images (estimate/vision.py)
    os: str = "unknown"  # --os: windows | linux | macos | unknown (estimate/speed/osdriver.py)

    def llama(self, n_ctx: int) -> mem.LlamaSettings:
        """The llama.cpp settings at context ``n_ctx``: for an int, the same (frozen) object each time
        this instance is asked (kept in its ``__dict__``, which equality, pickles and ``replace``
        ignore), so that the caches keyed by it hash it once; planning asks ~10 times per plan."""
        kept = self.__dict__.get("_llama_at")
        if kept is not None and kept[0] == n_ctx and type(n_ctx) is int:
            return kept[1]
        ls = self._llama_settings(n_ctx)
        if type(n_ctx) is int:
            self.__dict__["_llama_at"] = (n_ctx, ls)
        return ls

    def _llama_settings(self, n_ctx: int) -> mem.LlamaSettings:
        return mem.LlamaSettings(
            n_ctx=n_ctx,
            n_parallel=self.n_parallel,
            kv_unified=self.kv_unified,
            n_ubatch=self.n_ubatch,
            n_batch=self.n_batch,
            flash_attn=self.flash_attn,
            type_k=self.kv_type_k,
            type_v=self.kv_type_v,
            swa_full=self.swa_full,
        )


def resolve_ctx(model: ModelSpec, settings: PlanSettings) -> int:
    """The context a plan uses [tokens]: explicit, 0 = training context, None = default."""
    if settings.n_ctx is None:
        return min(DEFAULT_CTX, model.arch.n_ctx_train or DEFAULT_CTX)
    if settings.n_ctx < 0:
        raise RigfitError(f"--ctx must be ≥ 0 (0 = the model's training context), got {settings.n_ctx}.")
    return settings.n_ctx or model.arch.n_ctx_train


@dataclass
class DeviceMemory:
    """Memory one device needs [B], by buffer, and what it has.

    weights_bytes: resident weights, duplicated tensors included. On the CPU this equals llama.cpp's
        ``CPU_Mapped`` buffer: the ``CPU_REPACK`` buffer (repack_bytes) is an interleaved copy of
        some of those tensors, whose mmapped originals are read once at load and stay only as
        reclaimable page cache, so the copy replaces them byte for byte.
    mapped_bytes: the ``CPU_Mapped`` buffer llama.cpp logs (CPU only): the file span from the first
        to the last non-repacked CPU tensor, tensors of other devices in between included.
    capacity_bytes: usable memory (Apple: the GPU's share of unified RAM); None = unknown.
    capacity_source: where the capacity comes from (looked up / given / detected).
    fitted_offset_bytes: this machine's measured buffers minus the buffer model, per backend, fitted
        by ``rigfit calibrate`` from ``rigfit run`` loads (:mod:`rigfit.measure.overheads`); 0
        for other machines or without a calibration.
    fit: the verdict for this device (fits | tight | no | unknown).
    """

    name: str
    kind: str
    weights_bytes: int = 0
    repack_bytes: int = 0
    mapped_bytes: int = 0
    kv_bytes: int = 0
    recurrent_bytes: int = 0
    compute_bytes: int = 0
    output_bytes: int = 0
    overhead_bytes: int = 0
    overhead_source: str = ""
    fitted_offset_bytes: int = 0
    fitted_offset_source: str = ""
    capacity_bytes: int | None = None
    capacity_source: str = ""
    layers: int = 0
    holds_output: bool = False
    fit: Verdict = Verdict.UNKNOWN
    uncertainty_bytes: int = 0
    draft_bytes: int = 0  # the speculative context (draft model or MTP head), all its buffers
    mmproj_bytes: int = 0  # the image encoder (--mmproj): projector weights + its compute buffer

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes
            + self.kv_bytes
            + self.recurrent_bytes
            + self.compute_bytes
            + self.output_bytes
            + self.overhead_bytes
            + self.draft_bytes
            + self.mmproj_bytes
            + self.fitted_offset_bytes
        )

    @property
    def headroom_bytes(self) -> int | None:
        return None if self.capacity_bytes is None else self.capacity_bytes - self.total_bytes

    def to_json(self) -> dict:
        d = asdict(self)
        d["total_bytes"] = self.total_bytes
        d["total_low_bytes"] = self.total_bytes - self.uncertainty_bytes
        d["total_high_bytes"] = self.total_bytes + self.uncertainty_bytes
        d["headroom_bytes"] = self.headroom_bytes
        return d


@dataclass(frozen=True)
class VllmResult:
    """vLLM's memory claim and KV pool (estimated, vLLM V1 memory profiling rules).

    kv_cache_tokens: tokens the KV pool holds [tokens]; kv_bytes_per_token: per GPU [B/token];
    max_concurrent_seqs_at_max_len: requests of max_model_len that fit at once;
    max_num_batched_tokens: the profile run's token budget [tokens]; activation_peak_bytes and
    cuda_graph_bytes: per GPU [B].
    """

    gpu_memory_utilization: float
    tensor_parallel_size: int
    kv_cache_tokens: int
    kv_bytes_per_token: float
    max_concurrent_seqs_at_max_len: int
    max_num_batched_tokens: int
    activation_peak_bytes: int
    cuda_graph_bytes: int
    provenance: str = "estimated (vLLM V1 memory profiling rules; activations ±50%)"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HostedResult:
    """A hosted SRAM system (Cerebras, Groq): how many systems hold the weights and KV cache.

    memory_bytes_each: on-chip memory per system [B] (None = not published); weights_and_kv_bytes:
    what the provider must hold [B]; systems_needed: estimated (None = unknown).
    """

    device: str
    memory_bytes_each: int | None
    memory_source: str
    weights_and_kv_bytes: int
    systems_needed: int | None
    systems_provenance: str = "estimated (weights + KV over usable on-chip memory)"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class OffloadAlternative:
    """For an automatic MoE offload, the strategy not chosen, with its speed (tok/s, estimated)."""

    offload: OffloadKind
    ngl: int
    n_cpu_moe: int
    fit: Verdict
    decode_tps: float | None
    decode_tps_ctx: float | None
    speed_provenance: str = "estimated"

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Plan:
    """The answer for one model × machine × settings.

    fit: the verdict. ngl: the -ngl of this plan (the largest that fits when the verdict is
    offload). n_ctx: the context planned [tokens]. memory: per-device breakdown.
    commands: how to run it (llama_server, ollama, vllm_serve, …). notes: assumptions and caveats.
    speed: the speed estimate (None with ``speed_reason`` when unavailable).
    offload: what runs from RAM (None: nothing). alternative: for an automatic MoE offload, the
    strategy not chosen. vllm / hosted: the typed result of the vLLM engine / a hosted system.
    """

    model: ModelSpec
    machine: Machine
    settings: PlanSettings
    n_ctx: int
    ngl: int
    fit: Verdict
    devices: list[DeviceMemory]
    placement: Placement | None
    margin_bytes: int
    build: mem.BuildProfile
    commands: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    speed: SpeedEstimate | None = None
    speed_reason: str | None = None
    vllm: VllmResult | None = None
    max_ngl: int | None = None
    hosted: HostedResult | None = None
    offload: OffloadKind | None = None
    experts_in_ram: int = 0
    alternative: OffloadAlternative | None = None
    concurrency: Concurrency | None = None
    speculative: SpeculativeResult | None = None

    @property
    def weights_bytes(self) -> int:
        return self.model.weights_bytes

    @property
    def min_headroom_bytes(self) -> int | None:
        hs = [d.headroom_bytes for d in self.devices if d.headroom_bytes is not None]
        return min(hs) if hs else None

    def to_json(self) -> dict:
        arch = self.model.arch
        return {
            "schema": "rigfit.plan/1",
            "fit": self.fit,
            "weights_bytes": self.weights_bytes,
            "weights_provenance": "measured (GGUF header)"
            if self.model.tensors_exact
            else "estimated (llama.cpp quantization rules, tensor by tensor)",
            "n_ctx": self.n_ctx,
            "ngl": self.ngl,
            "max_ngl": self.max_ngl,
            "offload": {
                "kind": self.offload,
                "experts_in_ram_layers": self.experts_in_ram,
                "n_cpu_moe": (self.model.arch.n_layer if self.settings.cpu_moe else self.settings.n_cpu_moe),
                "alternative": _json_or_none(self.alternative),
            },
            "margin_bytes": self.margin_bytes,
            "model": {
                "id": arch.id,
                "name": arch.name,
                "arch": arch.arch,
                "file_type": self.model.file_type,
                "file_type_label": file_type_label(self.model),
                "origin": self.model.origin,
                "path": self.model.path,
                "n_layer": arch.n_layer,
                "n_ctx_train": arch.n_ctx_train,
            },
            "machine": {
                "name": self.machine.name,
                "accelerators": [d.name for d in self.machine.accelerators],
                "cpu": self.machine.cpu.name if self.machine.cpu else None,
                "ram_bytes": self.machine.ram_bytes,
                "ram_reserve_bytes": (reserve := ram_reserve(self.machine)).bytes,
                "ram_reserve_source": reserve.source,
                "unified_memory": self.machine.unified_memory,
            },
            "settings": _settings_json(self.settings),
            "llama_build": {
                "profile": self.build.name,
                "build": self.build.build,
                "date": self.build.date,
                "logits_reserve": self.build.logits_reserve,
                "mla_v_less": self.build.mla_v_less,
            },
            "memory": {
                "unit": "bytes",
                "provenance": "estimated (llama.cpp allocation rules; compute "
                "buffer ±1 MiB on CPU reserves, GPU compute and overheads ±20%)",
                "devices": [d.to_json() for d in self.devices],
            },
            "commands": self.commands,
            "vllm": _json_or_none(self.vllm),
            "hosted": _json_or_none(self.hosted),
            "speed": _json_or_none(self.speed),
            "speed_reason": self.speed_reason,
            "concurrency": _json_or_none(self.concurrency),
            "speculative": _json_or_none(self.speculative),
            "notes": self.notes,
        }


def _json_or_none(
    obj: VllmResult
    | HostedResult
    | OffloadAlternative
    | SpeedEstimate
    | Concurrency
    | SpeculativeResult
    | None,
) -> dict | None:
    return None if obj is None else obj.to_json()


def _settings_json(s: PlanSettings) -> dict:
    d = {f.name: getattr(s, f.name) for f in fields(s)}
    if d.get("tensor_split") is not None:
        d["tensor_split"] = list(d["tensor_split"])
    d["speculative"] = None if s.speculative is None else s.speculative.to_json()
    d["vision"] = None if s.vision is None else s.vision.to_json()
    return d
