"""Small synthetic multimodal projector (mmproj) GGUFs that real llama.cpp (tools/mtmd/clip.cpp) loads.

:func:`write_gemma3_mmproj` writes a SigLIP vision tower with the Gemma 3 projector: the keys
clip.cpp's ``load_hparams`` reads (``clip.vision.*``, ``clip.projector_type = "gemma3"``) and the
tensors its ``load_tensors`` requires for that projector (patch and position embeddings, per
block q/k/v/out + LayerNorms + GELU FFN with biases, ``v.post_ln``, ``mm.input_projection`` and
``mm.soft_emb_norm``), see
https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip.cpp and
https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/models/siglip.cpp.

``projection_dim`` must equal the text model's ``n_embd`` (640 for the bundled Gemma 3 270M), or
mtmd refuses the pair. Weights are F16 (``wtype``), biases and norms F32, as converted files are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gguf import GGUFWriter


@dataclass
class SynthMmproj:
    """What the writer put in the file: path, keys, and {tensor name: exact bytes}."""

    path: Path
    metadata: dict[str, object] = field(default_factory=dict)
    tensor_bytes: dict[str, int] = field(default_factory=dict)


#: ``add(name, shape, weight)``: one random tensor, in the weight type when ``weight``, else F32
_Add = Callable[[str, tuple[int, ...], bool], None]


def _open_tower(
    path: Path, meta: dict[str, object], norm: tuple[float, float], wtype: str
) -> tuple[GGUFWriter, SynthMmproj, _Add]:
    """A clip GGUF writer with ``meta`` (bool, uint32 or string values, in order), the layer-norm
    epsilon, ``norm`` as the image mean and std of every channel, and ``clip.use_gelu``; with the
    record of what is written and the function that adds a tensor (random weights, seed 0)."""
    dtype = {"F16": np.float16, "F32": np.float32}[wtype]
    rng = np.random.default_rng(0)
    w = GGUFWriter(str(path), "clip")
    for key, value in meta.items():
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        else:
            w.add_string(key, str(value))
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_array("clip.vision.image_mean", [norm[0]] * 3)
    w.add_array("clip.vision.image_std", [norm[1]] * 3)
    w.add_bool("clip.use_gelu", True)
    out = SynthMmproj(Path(path), meta)

    def add(name: str, shape: tuple[int, ...], weight: bool) -> None:
        arr = (rng.standard_normal(shape) * 0.02).astype(dtype if weight else np.float32)
        w.add_tensor(name, arr)
        out.tensor_bytes[name] = arr.nbytes

    return w, out, add


def _close(w: GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_gemma3_mmproj(
    path: Path,
    n_embd: int = 256,
    n_ff: int = 512,
    n_layer: int = 2,
    n_head: int = 4,
    image_size: int = 224,
    patch_size: int = 14,
    projection_dim: int = 640,
    wtype: str = "F16",
) -> SynthMmproj:
    """Write a Gemma 3 style mmproj GGUF with small random weights; return what was written."""
    meta: dict[str, object] = {
        "general.name": "synthetic gemma3 mmproj",
        "clip.has_vision_encoder": True,
        "clip.projector_type": "gemma3",
        "clip.vision.image_size": image_size,
        "clip.vision.patch_size": patch_size,
        "clip.vision.embedding_length": n_embd,
        "clip.vision.feed_forward_length": n_ff,
        "clip.vision.block_count": n_layer,
        "clip.vision.projection_dim": projection_dim,
        "clip.vision.attention.head_count": n_head,
    }
    w, out, add = _open_tower(path, meta, (0.5, 0.5), wtype)
    n_patches = (image_size // patch_size) ** 2
    add("v.patch_embd.weight", (n_embd, 3, patch_size, patch_size), True)
    add("v.patch_embd.bias", (n_embd,), False)
    add("v.position_embd.weight", (n_patches, n_embd), True)
    for il in range(n_layer):
        for kind in ("attn_q", "attn_k", "attn_v", "attn_out"):
            add(f"v.blk.{il}.{kind}.weight", (n_embd, n_embd), True)
            add(f"v.blk.{il}.{kind}.bias", (n_embd,), False)
        for kind in ("ln1", "ln2"):
            add(f"v.blk.{il}.{kind}.weight", (n_embd,), False)
            add(f"v.blk.{il}.{kind}.bias", (n_embd,), False)
        add(f"v.blk.{il}.ffn_up.weight", (n_ff, n_embd), True)
        add(f"v.blk.{il}.ffn_up.bias", (n_ff,), False)
        add(f"v.blk.{il}.ffn_down.weight", (n_embd, n_ff), True)
        add(f"v.blk.{il}.ffn_down.bias", (n_embd,), False)
    add("v.post_ln.weight", (n_embd,), False)
    add("v.post_ln.bias", (n_embd,), False)
    add("mm.input_projection.weight", (n_embd, projection_dim), True)
    add("mm.soft_emb_norm.weight", (n_embd,), False)
    _close(w)
    return out


def write_gemma4v_mmproj(
    path: Path,
    n_embd: int = 256,
    n_ff: int = 512,
    n_layer: int = 2,
    n_head: int = 4,
    positions: int = 1024,
    projection_dim: int = 640,
    wtype: str = "F16",
) -> SynthMmproj:
    """A Gemma 4 (``gemma4v``) vision tower as llama.cpp's converter writes it
    (convert_hf_to_gguf.py ``Gemma4VisionAudioModel``) and tools/mtmd/models/gemma4v.cpp builds it:
    patch embedding without bias (patch 16), a 2-D position table ``[n_embd, positions, 2]``, per
    block Q/K/V/O without biases, Q/K RMS norms, RMS ``ln1``/``ln2``, post-attention and post-FFN
    norms, a gated GELU FFN, and ``mm.input_projection`` to the text width."""
    meta: dict[str, object] = {
        "general.name": "synthetic gemma4v mmproj",
        "clip.has_vision_encoder": True,
        "clip.projector_type": "gemma4v",
        "clip.vision.image_size": 224,
        "clip.vision.patch_size": 16,
        "clip.vision.embedding_length": n_embd,
        "clip.vision.feed_forward_length": n_ff,
        "clip.vision.block_count": n_layer,
        "clip.vision.projection_dim": projection_dim,
        "clip.vision.attention.head_count": n_head,
    }
    w, out, add = _open_tower(path, meta, (0.0, 1.0), wtype)
    hd = n_embd // n_head
    add("v.patch_embd.weight", (n_embd, 3, 16, 16), True)
    add("v.position_embd.weight", (2, positions, n_embd), False)
    for il in range(n_layer):
        for kind in ("attn_q", "attn_k", "attn_v", "attn_out"):
            add(f"v.blk.{il}.{kind}.weight", (n_embd, n_embd), True)
        add(f"v.blk.{il}.attn_q_norm.weight", (hd,), False)
        add(f"v.blk.{il}.attn_k_norm.weight", (hd,), False)
        for kind in ("ln1", "ln2", "attn_post_norm", "ffn_post_norm"):
            add(f"v.blk.{il}.{kind}.weight", (n_embd,), False)
        add(f"v.blk.{il}.ffn_gate.weight", (n_ff, n_embd), True)
        add(f"v.blk.{il}.ffn_up.weight", (n_ff, n_embd), True)
        add(f"v.blk.{il}.ffn_down.weight", (n_embd, n_ff), True)
    add("mm.input_projection.weight", (projection_dim, n_embd), True)
    _close(w)
    return out
