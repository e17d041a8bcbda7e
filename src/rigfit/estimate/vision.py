"""Vision models in llama.cpp: the projector's memory and the cost of images in a prompt.

Memory (``--mmproj FILE``): llama.cpp's image encoder (tools/mtmd/clip.cpp) puts **all** of the
projector file's tensors in one weights buffer and reserves one compute buffer, on the first GPU
unless ``--no-mmproj-offload`` (then on the CPU). The weights are exactly the file's tensor bytes.
The compute buffer is reserved at start-up for the warm-up image (``image_size`` × ``image_size``,
P = (image_size / patch_size)² patches). For the SigLIP/ViT graph (``clip_graph::build_vit``,
https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip-graph.cpp) its peak is the
larger of two live sets, all F32 activations [B]:

* attention: flash attention off: the K·Q scores H·P² ·4 plus 6 P×E tensors; on: 5 P×E tensors;
* FFN: the P×F up-projection plus 3 P×E tensors.

This rule reproduces llama.cpp's CPU log exactly for P ≥ 1024 and within 0.82 MiB for P = 256
(benchmarks/mmproj_vs_llamacpp.py, 12 synthetic Gemma 3 projectors × FA on/off); it is checked on
the ``gemma3`` projector only, so other projectors carry a wider band.

Images in a prompt: each image becomes a fixed or size-dependent number of tokens
(:func:`image_tokens`, one rule per encoder family, each with its source) that go through the LLM
like text, after the encoder ran once per image (its time estimated from FLOPs).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from rigfit.figures import Figure
from rigfit.units import MIB

if TYPE_CHECKING:  # (built lazily below: the GGUF reader is ~3 ms of every start, issue 15)
    from rigfit.formats.mmproj import MmprojInfo

#: F32 activations [B per element].
F32 = 4
#: Projectors whose graph is clip.cpp's plain ``build_vit`` on a square warm-up image and whose
#: compute rule was compared with real llama.cpp (benchmarks/mmproj_vs_llamacpp.py).
MEASURED_PROJECTORS = frozenset({"gemma3"})
#: Band of the compute rule [B]: the largest deviation seen on llama.cpp's CPU backend (0.82 MiB
#: at P = 256, benchmarks/mmproj_vs_llamacpp.py) rounded up.
COMPUTE_BAND_MEASURED = 1 * MIB
#: Relative band for projectors whose graph was not compared (other merges, windows, GPU backends):
#: a modelling choice, wide on purpose.
COMPUTE_REL_BAND_UNMEASURED = 0.5


@dataclass(frozen=True)
class VisionSettings:
    """What the user asked for about images.

    mmproj: the projector file's header (``--mmproj``), None when not given.
    offload: the encoder on the GPU (False = ``--no-mmproj-offload``).
    images: images in one prompt (``--images``). image_size: (width, height) [px] of each image
        (``--image-size``), None = the encoder's native size.
    """

    mmproj: MmprojInfo | None = None
    offload: bool = True
    images: int = 0
    image_size: tuple[int, int] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "mmproj": None if self.mmproj is None else self.mmproj.path,
            "mmproj_offload": self.offload,
            "images": self.images,
            "image_size": None if self.image_size is None else list(self.image_size),
        }


def llama_server_args(vs: VisionSettings | None) -> list[str]:
    """``--mmproj FILE`` (and ``--no-mmproj-offload``) for the llama-server line."""
    if vs is None or vs.mmproj is None:
        return []
    return ["--mmproj", os.path.basename(vs.mmproj.path)] + ([] if vs.offload else ["--no-mmproj-offload"])


class _DeviceRow(Protocol):
    name: str
    kind: str
    mmproj_bytes: int
    uncertainty_bytes: int


def mmproj_device(devs: Sequence[_DeviceRow], offload: bool) -> _DeviceRow | None:
    """The device llama.cpp's image encoder uses: the first GPU (clip.cpp initialises the first GPU
    backend) unless ``--no-mmproj-offload`` or there is none, then the CPU (the last row)."""
    if not devs:
        return None
    gpus = list(devs[:-1])
    return gpus[0] if offload and gpus else devs[-1]


def add_mmproj_buffers(devs: Sequence[_DeviceRow], vs: VisionSettings, flash_attn: bool) -> None:
    """Add the projector's weights and the encoder's compute buffer to the device that holds them."""
    if vs.mmproj is None:
        return
    d = mmproj_device(devs, vs.offload)
    if d is None:
        return
    compute = encoder_compute_bytes(vs.mmproj, flash_attn) if vs.mmproj.has_vision else 0
    d.mmproj_bytes += vs.mmproj.weights_bytes + compute
    d.uncertainty_bytes += encoder_compute_band(vs.mmproj, compute) if compute else 0
    if not vs.mmproj.weights_source.startswith("exact"):
        d.uncertainty_bytes += int(ESTIMATED_WEIGHTS_REL_BAND * vs.mmproj.weights_bytes)


#: gemma4v (tools/mtmd/models/gemma4v.cpp: 2-D RoPE on each half of Q and K, then concatenated;
#: a gated FFN) reserves for a 256-token warm-up image, 256·n_merge² patches (clip.cpp
#: ``set_warmup_n_tokens(256)``), whatever the header's image_size. Its buffer, f32 values per
#: patch: flash attention on ``max(3·F + 3·E, 6·E)``, off ``H·P + 5·E``, fitted on llama.cpp
#: b11549 CPU reserves of 7 synthetic gemma4v projectors (tests/synth_mmproj.py
#: ``write_gemma4v_mmproj``: E 256–1152, F 512–4304, 4–16 heads, 2–5 blocks;
#: benchmarks/mmproj_gemma4v_vs_llamacpp.py): exact (0.02 MiB) at the on-device tower's sizes
#: (E 768, F 3072, 12 heads), −4.5 % / −1.8 % (FA on / off) at the large tower's (E 1152,
#: F 4304), worst +9 % (2.2 MiB) where E = F.
GEMMA4_WARMUP_TOKENS = 256
GEMMA4V_COMPUTE_REL_BAND = 0.1


def encoder_compute_bytes(info: MmprojInfo, flash_attn: bool) -> int:
    """The image encoder's compute buffer [B] for the warm-up image (rule in the module docstring;
    gemma4v: :data:`GEMMA4_WARMUP_TOKENS`)."""
    p, e, f, h = info.n_patches, info.n_embd, info.n_ff, info.n_head
    if info.projector == "gemma4v":
        p = GEMMA4_WARMUP_TOKENS * max(1, info.n_merge) ** 2
        per_patch = max(3 * f + 3 * e, 6 * e) if flash_attn else h * p + 5 * e
        return p * per_patch * F32
    pe = p * e * F32
    attn = (5 * pe) if flash_attn else (h * p * p * F32 + 6 * pe)
    ffn = p * f * F32 + 3 * pe
    return max(attn, ffn)


def encoder_compute_band(info: MmprojInfo, compute_bytes: int) -> int:
    """Half-width of the compute buffer's band [B]."""
    if info.projector in MEASURED_PROJECTORS:
        return COMPUTE_BAND_MEASURED
    if info.projector == "gemma4v":
        return max(COMPUTE_BAND_MEASURED, int(GEMMA4V_COMPUTE_REL_BAND * compute_bytes))
    return int(COMPUTE_REL_BAND_UNMEASURED * compute_bytes)


def encoder_flops(info: MmprojInfo, n_patches: int) -> float:
    """Forward FLOPs of the vision tower for one image of ``n_patches`` patches [FLOP]:
    patch embedding 2·P·(3·p²)·E, per block 2·P·(4E² + 2EF) for the projections and FFN plus
    4·P²·E for attention (Q·Kᵀ and ·V), as in Kaplan et al. 2020 (https://arxiv.org/abs/2001.08361)."""
    p, e, f = n_patches, info.n_embd, info.n_ff
    embed = 2 * p * 3 * info.patch_size**2 * e
    block = 2 * p * (4 * e * e + 2 * e * f) + 4 * p * p * e
    return float(embed + info.n_layer * block)


# ---------------------------------------------------------------------------------------------
# image tokens per image
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageTokens:
    """Tokens one image becomes in the LLM, and the encoder's patches for it.

    tokens: image tokens through the LLM. patches: patches the vision tower sees (all tiles).
    rule: the rule in words. source: where the rule comes from (URL).
    """

    tokens: int
    patches: int
    rule: str
    source: str


#: Qwen2-VL / Qwen2.5-VL: resize so both sides are multiples of patch×merge (28 px), within
#: min_pixels..max_pixels, then one token per 28×28 px (``smart_resize``,
#: https://github.com/huggingface/transformers/blob/main/src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py;
#: defaults in https://huggingface.co/Qwen/Qwen2.5-VL-7B-Instruct/blob/main/preprocessor_config.json).
QWEN_MIN_PIXELS = 3136
QWEN_MAX_PIXELS = 12845056
QWEN_SOURCE = "https://github.com/huggingface/transformers/blob/main/src/transformers/models/qwen2_vl/image_processing_qwen2_vl.py"
#: Gemma 3: every image is resized to 896×896 and pooled to 256 tokens ("mm_tokens_per_image": 256,
#: https://huggingface.co/google/gemma-3-4b-it/blob/main/config.json).
GEMMA3_SOURCE = "https://huggingface.co/google/gemma-3-4b-it/blob/main/config.json"
#: LLaVA-1.5: a 336 px CLIP ViT-L/14, all 24×24 = 576 patch features
#: (https://huggingface.co/llava-hf/llava-1.5-7b-hf/blob/main/config.json: image_size 336, patch_size 14).
LLAVA_SOURCE = "https://huggingface.co/llava-hf/llava-1.5-7b-hf/blob/main/config.json"
#: Llama 4: 336 px tiles, patch 14, pixel shuffle ratio 0.5 → 144 tokens per tile, up to 16 tiles
#: plus a global view when tiled (https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E-Instruct/blob/main/config.json,
#: vision_config; max_patches 16 in its preprocessor_config.json).
LLAMA4_SOURCE = "https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E-Instruct/blob/main/config.json"
LLAMA4_MAX_TILES = 16
#: Pixtral / Mistral Small 3.1: one token per (patch·merge)² px, the image scaled to fit
#: image_size, plus one [IMG_BREAK] per row except the last (llama.cpp ``clip_n_output_tokens``,
#: PROJECTOR_TYPE_PIXTRAL, https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip.cpp;
#: Pixtral-12B: patch 16, 1024 px, https://huggingface.co/mistralai/Pixtral-12B-2409/blob/main/params.json).
PIXTRAL_SOURCE = "https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip.cpp"
CLIP_CPP_SOURCE = PIXTRAL_SOURCE
#: Gemma 4 (gemma4v): patch 16, 3×3 pooling (48 px per token), 40 to 280 tokens per image
#: (clip.cpp ``load_hparams``: ``n_merge = 3``, ``set_limit_image_tokens(40, 280)``; the image is
#: resized like Qwen-VL's, keeping its aspect ratio, by ``mtmd_image_preprocessor_dyn_size``);
#: 280 is also the config's ``vision_soft_tokens_per_image``
#: (https://huggingface.co/google/gemma-4-31B-it/blob/main/config.json).
GEMMA4_SOURCE = CLIP_CPP_SOURCE
GEMMA4_MIN_TOKENS, GEMMA4_MAX_TOKENS = 40, 280

#: Encoders of catalog / text-GGUF architectures, for ``--images`` without ``--mmproj``
#: (projector name, image_size, patch_size, n_merge), from each model's config.json.
ENCODER_BY_ARCH: dict[str, tuple[str, int, int, int]] = {
    "gemma3": ("gemma3", 896, 14, 4),  # GEMMA3_SOURCE: vision_config image_size 896, patch_size 14
    "llama4": ("llama4", 336, 14, 2),  # LLAMA4_SOURCE
    "qwen2vl": ("qwen2.5vl", 0, 14, 2),  # QWEN_SOURCE; dynamic size
    "llava": ("mlp", 336, 14, 1),  # LLAVA_SOURCE
    "gemma4": ("gemma4v", 0, 16, 3),  # GEMMA4_SOURCE; dynamic size
}


#: Gemma 3's vision tower (SigLIP-So400m): vision_config of
#: https://huggingface.co/google/gemma-3-4b-it/blob/main/config.json (4B, 12B and 27B share it):
#: image_size 896, patch_size 14, hidden_size 1152, intermediate_size 4304, 27 layers, 16 heads.
GEMMA3_VISION = {
    "image_size": 896,
    "patch_size": 14,
    "n_embd": 1152,
    "n_ff": 4304,
    "n_layer": 27,
    "n_head": 16,
}
#: Relative band of a projector's weights estimated from its vision_config (tensor set of
#: clip.cpp's gemma3 projector, 2-D weights F16 and the rest F32 as llama.cpp's converter writes).
ESTIMATED_WEIGHTS_REL_BAND = 0.02


#: Gemma 4's two vision towers (transformers convert_gemma4_weights.py ``_ON_DEVICE_VISION_CONFIG``
#: for E2B/E4B, the models with per-layer embeddings, and ``_LARGE_MODEL_VISION_CONFIG`` for
#: 26B-A4B/31B: https://github.com/huggingface/transformers/blob/ca5ff0b0d29a3b30277e4518644df411193f9490/src/transformers/models/gemma4/convert_gemma4_weights.py);
#: patch 16, 3×3 pooling, a 10240-entry 2-D position table (Gemma4VisionConfig defaults).
GEMMA4_VISION_SOURCE = (
    "https://github.com/huggingface/transformers/blob/ca5ff0b0d29a3b30277e4518644df411193f9490/"
    "src/transformers/models/gemma4/convert_gemma4_weights.py"
)
GEMMA4_VISION = {
    "on_device": {"n_embd": 768, "n_ff": 3072, "n_layer": 16, "n_head": 12},
    "large": {"n_embd": 1152, "n_ff": 4304, "n_layer": 27, "n_head": 16},
}
GEMMA4_POSITIONS = 10240
#: the warm-up image as a square: 16 × 16 tokens of 48 px (:data:`GEMMA4_WARMUP_TOKENS`).
GEMMA4_WARMUP_SIDE = 768


def _gemma4_projector(text_n_embd: int, extra: dict[str, Any]) -> MmprojInfo | None:
    """Gemma 4's F16 vision projector (gemma4v), estimated from the tower its size uses: per
    layer Q/K/V/O, a gated FFN (3 matrices), 4 norms and Q/K norms; the patch embedding, the 2-D
    position table and the projection to the text width. 12B (gemma4_unified) has no tower."""
    if str(extra.get("hf_model_type") or "").startswith("gemma4_unified"):
        return None
    tower = "on_device" if int(extra.get("embedding_length_per_layer_input") or 0) else "large"
    v = GEMMA4_VISION[tower]
    e, f, n, patch = v["n_embd"], v["n_ff"], v["n_layer"], 16
    hd = e // v["n_head"]
    # the converter keeps the position table in F32 (tensor_force_quant "position_embedding_table");
    # the large tower standardizes its output (std_bias, std_scale: Gemma4VisionConfig standardize)
    f16 = 3 * patch * patch * e + n * (4 * e * e + 3 * e * f) + e * text_n_embd
    f32 = 2 * GEMMA4_POSITIONS * e + n * (4 * e + 2 * hd) + (2 * e if tower == "large" else 0)
    from rigfit.formats.mmproj import MmprojInfo

    return MmprojInfo(
        path="mmproj-F16.gguf",
        name=None,
        projector="gemma4v",
        has_vision=True,
        has_audio=False,
        image_size=GEMMA4_WARMUP_SIDE,
        patch_size=patch,
        n_embd=e,
        n_ff=f,
        n_layer=n,
        n_head=v["n_head"],
        projection_dim=text_n_embd,
        n_merge=3,
        weights_bytes=2 * f16 + 4 * f32,
        n_params=f16 + f32,
        n_tensors=0,
        file_size=0,
        weights_source=f"estimated: an F16 projector from the {tower} vision_config, {GEMMA4_VISION_SOURCE}",
        tensor_types={},
    )


def catalog_projector(
    arch_name: str, text_n_embd: int, extra: dict[str, Any] | None = None
) -> MmprojInfo | None:
    """The F16 projector llama.cpp's converter would write for a catalog vision model, from its
    vision_config (Gemma 3; Gemma 4 by its ``extra``); None when rigfit does not know the
    model's encoder."""
    if arch_name == "gemma4":
        return _gemma4_projector(text_n_embd, extra or {})
    if arch_name != "gemma3":
        return None
    v = GEMMA3_VISION
    e, f, p = v["n_embd"], v["n_ff"], (v["image_size"] // v["patch_size"]) ** 2
    f16 = 3 * v["patch_size"] ** 2 * e + p * e + v["n_layer"] * (4 * e * e + 2 * e * f) + e * text_n_embd
    f32 = e + v["n_layer"] * (8 * e + f + e) + 2 * e + e
    from rigfit.formats.mmproj import MmprojInfo

    return MmprojInfo(
        path="mmproj-F16.gguf",
        name=None,
        projector="gemma3",
        has_vision=True,
        has_audio=False,
        image_size=v["image_size"],
        patch_size=v["patch_size"],
        n_embd=e,
        n_ff=f,
        n_layer=v["n_layer"],
        n_head=v["n_head"],
        projection_dim=text_n_embd,
        n_merge=4,
        weights_bytes=2 * f16 + 4 * f32,
        n_params=f16 + f32,
        n_tensors=0,
        file_size=0,
        weights_source=f"estimated: an F16 projector from the vision_config, {GEMMA3_SOURCE}",
        tensor_types={},
    )


def _qwen_resize(
    w: int, h: int, factor: int, min_pixels: int = QWEN_MIN_PIXELS, max_pixels: int = QWEN_MAX_PIXELS
) -> tuple[int, int]:
    """``smart_resize``: round each side to a multiple of ``factor``, then scale into the pixel range."""
    hb = max(factor, round(h / factor) * factor)
    wb = max(factor, round(w / factor) * factor)
    if hb * wb > max_pixels:
        beta = math.sqrt(h * w / max_pixels)
        hb = max(factor, math.floor(h / beta / factor) * factor)
        wb = max(factor, math.floor(w / beta / factor) * factor)
    elif hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (h * w))
        hb = math.ceil(h * beta / factor) * factor
        wb = math.ceil(w * beta / factor) * factor
    return wb, hb


def image_tokens(
    projector: str, image_size: int, patch_size: int, n_merge: int, width: int | None, height: int | None
) -> ImageTokens | None:
    """Tokens one ``width`` × ``height`` image becomes (None size = the encoder's native size).
    None when rigfit has no rule for the projector."""
    native = (image_size // patch_size) ** 2 if patch_size else 0
    if projector == "gemma3":
        return ImageTokens(
            native // (n_merge * n_merge), native, "fixed: resized to the encoder size", GEMMA3_SOURCE
        )
    if projector in ("mlp", "mlp_norm"):
        return ImageTokens(native, native, "fixed: one token per patch", LLAVA_SOURCE)
    if projector in ("idefics3", "internvl"):
        return ImageTokens(native // (n_merge * n_merge), native, "fixed per tile", CLIP_CPP_SOURCE)
    if projector == "gemma4v":
        factor = patch_size * max(1, n_merge)
        if width is None or height is None:
            top = GEMMA4_MAX_TOKENS
            return ImageTokens(
                top, top * n_merge * n_merge, "up to 280 tokens (a large image)", GEMMA4_SOURCE
            )
        rw, rh = _qwen_resize(
            width, height, factor, GEMMA4_MIN_TOKENS * factor * factor, GEMMA4_MAX_TOKENS * factor * factor
        )
        return ImageTokens(
            (rw // factor) * (rh // factor),
            (rw // patch_size) * (rh // patch_size),
            f"{rw}x{rh} px / {factor}²",
            GEMMA4_SOURCE,
        )
    w = width or image_size or 448
    h = height or image_size or 448
    if projector in ("qwen2vl", "qwen2.5vl", "qwen25vl", "qwen3vl", "qwen3vl_merger"):
        factor = patch_size * 2
        rw, rh = _qwen_resize(w, h, factor)
        return ImageTokens(
            (rw // factor) * (rh // factor),
            (rw // patch_size) * (rh // patch_size),
            f"{rw}x{rh} px / {factor}²",
            QWEN_SOURCE,
        )
    if projector == "llama4":
        side = image_size or 336
        tiles = min(LLAMA4_MAX_TILES, math.ceil(w / side) * math.ceil(h / side))
        views = tiles + (1 if tiles > 1 else 0)
        per = (side // patch_size // n_merge) ** 2
        return ImageTokens(per * views, views * native, f"{views} views × {per}", LLAMA4_SOURCE)
    if projector in ("pixtral", "lightonocr"):
        scale = min(1.0, (image_size or max(w, h)) / max(w, h))
        step = patch_size * max(1, n_merge)
        cols = max(1, math.ceil(w * scale / step))
        rows = max(1, math.ceil(h * scale / step))
        patches = math.ceil(w * scale / patch_size) * math.ceil(h * scale / patch_size)
        return ImageTokens(
            rows * cols + rows - 1, patches, f"{cols}x{rows} tokens + row breaks", PIXTRAL_SOURCE
        )
    return None


def tokens_for(settings: VisionSettings, arch_name: str) -> ImageTokens | None:
    """Image tokens per image for the plan's projector (or, without one, the model's architecture)."""
    w, h = settings.image_size or (None, None)
    if settings.mmproj is not None:
        m = settings.mmproj
        return image_tokens(m.projector, m.image_size, m.patch_size, m.n_merge, w, h)
    enc = ENCODER_BY_ARCH.get(arch_name)
    if enc is None:
        return None
    return image_tokens(enc[0], enc[1], enc[2], enc[3], w, h)


# ---------------------------------------------------------------------------------------------
# the cost of N images in one prompt
# ---------------------------------------------------------------------------------------------

#: Extra relative widening of the encoder-time band: the encoder is assumed to reach the LLM
#: prefill's FLOP efficiency on the same device, an assumption not yet measured (a modelling
#: choice, stated in the output).
ENCODER_EFFICIENCY_BAND = 2.0


def _scaled(f: Figure | None, per_tps: float) -> tuple[float, float | None, float | None] | None:
    """Seconds = per_tps / tok/s figure, with the band inverted (a low rate gives a long time)."""
    if f is None or not f.value:
        return None
    lo = per_tps / f.high if f.high else None
    hi = per_tps / f.low if f.low else None
    return per_tps / f.value, lo, hi


def image_prompt_cost(
    vs: VisionSettings, arch_name: str, prefill_tps: Figure | None, active_params: int | None
) -> dict[str, Any]:
    """What ``vs.images`` images add to one prompt: image tokens (by the encoder's rule), their
    prefill through the LLM at the plan's prefill rate, and the encoder's time from its FLOPs at
    the LLM prefill's effective FLOP rate (2 FLOP per active parameter per token). Times are
    estimates with bands; None where unknown."""
    tok = tokens_for(vs, arch_name)
    out: dict[str, Any] = {
        "images": vs.images,
        "image_size": None if vs.image_size is None else list(vs.image_size),
        "tokens_per_image": None if tok is None else tok.tokens,
        "image_tokens": None if tok is None else tok.tokens * vs.images,
        "rule": None if tok is None else tok.rule,
        "source": None if tok is None else tok.source,
        "llm_prefill_s": None,
        "encoder_flops": None,
        "encoder_s": None,
        "provenance": "estimated",
    }
    if tok is None:
        return out
    llm = _scaled(prefill_tps, tok.tokens * vs.images)
    if llm is not None:
        out["llm_prefill_s"] = {"value": llm[0], "low": llm[1], "high": llm[2]}
    if vs.mmproj is None or not vs.mmproj.has_vision:
        return out
    flops = encoder_flops(vs.mmproj, tok.patches) * vs.images
    out["encoder_flops"] = flops
    if active_params and prefill_tps is not None and vs.offload:
        enc = _scaled(prefill_tps, flops / (2.0 * active_params))
        if enc is not None:
            lo = None if enc[1] is None else enc[1] / ENCODER_EFFICIENCY_BAND
            hi = None if enc[2] is None else enc[2] * ENCODER_EFFICIENCY_BAND
            out["encoder_s"] = {"value": enc[0], "low": lo, "high": hi}
    return out


def image_cost_lines(cost: dict[str, Any]) -> list[str]:
    """``image_prompt_cost`` as text lines, every figure labelled."""
    n = cost["images"]
    if cost["tokens_per_image"] is None:
        return [f"{n} image(s): tokens per image unknown (no rule for this encoder; give --mmproj FILE)"]
    lines = [
        f"{n} image(s) × {cost['tokens_per_image']:,} tokens = {cost['image_tokens']:,} image tokens "
        f"(looked up: {cost['rule']}; {cost['source']})"
    ]

    def fmt(f: dict[str, Any] | None) -> str:
        if f is None:
            return "unknown"
        band = f" ({f['low']:.2f}–{f['high']:.2f})" if f["low"] is not None and f["high"] is not None else ""
        return f"{f['value']:.2f} s{band}"

    lines.append(f"  LLM prefill of the image tokens: {fmt(cost['llm_prefill_s'])} (estimated, p10–p90 band)")
    if cost["encoder_flops"] is not None:
        lines.append(
            f"  image encoder: {cost['encoder_flops'] / 1e12:.2f} TFLOP, {fmt(cost['encoder_s'])} "
            f"(estimated from FLOPs at the LLM prefill's FLOP rate, band ×{ENCODER_EFFICIENCY_BAND:g} wider)"
        )
    else:
        lines.append("  image encoder time: unknown (give --mmproj FILE for the encoder's size)")
    return lines
