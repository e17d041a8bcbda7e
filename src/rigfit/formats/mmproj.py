"""Multimodal projector (``mmproj``) GGUF files: what llama.cpp's image encoder loads.

A projector file has ``general.architecture = "clip"`` and the keys llama.cpp's
``tools/mtmd/clip.cpp`` ``load_hparams`` reads
(https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip-impl.h, ``KEY_*``):
``clip.projector_type`` (or ``clip.vision.projector_type`` in files with several modalities),
``clip.has_vision_encoder`` / ``clip.has_audio_encoder``, and per modality
``clip.vision.{image_size, patch_size, embedding_length, feed_forward_length, block_count,
projection_dim, attention.head_count}``, plus the optional ``clip.vision.projector.scale_factor``
(``n_merge``) and ``clip.vision.spatial_merge_size``.

llama.cpp allocates every tensor of the file in one weights buffer on the encoder's backend (the
GPU unless ``--no-mmproj-offload``), so the projector's weights are exactly the file's tensor
bytes (clip.cpp logs them as ``load_hparams: model size``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rigfit.errors import BadFileError
from rigfit.formats.gguf import GGUFFile, path_str, read_gguf

CLIP_ARCH = "clip"

#: ``n_merge`` llama.cpp uses when the file has no ``clip.vision.projector.scale_factor``
#: (clip.cpp ``load_hparams``, https://github.com/ggml-org/llama.cpp/blob/master/tools/mtmd/clip.cpp:
#: gemma3 "number of patches for each **side** is reduced by a factor of 4"; gemma4v
#: ``n_merge = 3; // pooling_kernel_size``).
DEFAULT_N_MERGE = {"gemma3": 4, "gemma4v": 3}


@dataclass(frozen=True)
class MmprojInfo:
    """A projector file's header: the encoder's shape and its exact weights.

    projector: ``clip.projector_type`` ("gemma3", "mlp", "qwen2.5vl", "pixtral" …).
    image_size / patch_size: the encoder's input side [px] and patch side [px].
    n_embd, n_ff, n_layer, n_head: the vision tower's width, FFN width, blocks, heads.
    projection_dim: the ``clip.vision.projection_dim`` key (for most projectors the text
        model's embedding width; 0 when absent).
    n_merge: patches merged per side by the projector (``scale_factor``; 1 = none).
    weights_bytes: every tensor's bytes [B] (what llama.cpp allocates for the projector).
    tensor_types: {GGML type: {"tensors", "params", "bytes"}}.
    weights_source: how weights_bytes is known ("exact, from the header", or an estimate's basis).
    """

    path: str
    name: str | None
    projector: str
    has_vision: bool
    has_audio: bool
    image_size: int
    patch_size: int
    n_embd: int
    n_ff: int
    n_layer: int
    n_head: int
    projection_dim: int
    n_merge: int
    weights_bytes: int
    n_params: int
    n_tensors: int
    file_size: int
    file_type: str | None = None
    weights_source: str = "exact, from the header"
    tensor_types: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def patches_per_side(self) -> int:
        return self.image_size // self.patch_size if self.patch_size else 0

    @property
    def n_patches(self) -> int:
        """Patches of one ``image_size`` × ``image_size`` image (the warm-up image)."""
        return self.patches_per_side**2


def is_mmproj(g: GGUFFile) -> bool:
    """True for a projector file (``general.architecture = "clip"``)."""
    return g.architecture == CLIP_ARCH


def _u(g: GGUFFile, key: str, default: int = 0) -> int:
    v = g.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise BadFileError(g.path, f"{key} is {v!r}, not a non-negative integer")
    return v


def mmproj_from_gguf(g: GGUFFile) -> MmprojInfo:
    """The projector described by a parsed ``clip`` GGUF header."""
    if not is_mmproj(g):
        raise BadFileError(g.path, f"architecture {g.architecture!r} is not a projector (mmproj) file")
    projector = g.get("clip.vision.projector_type") or g.get("clip.projector_type")
    has_vision = bool(g.get("clip.has_vision_encoder", False))
    if not isinstance(projector, str) or not projector:
        raise BadFileError(g.path, "no clip.projector_type key: llama.cpp cannot use this projector")
    n_merge = _u(g, "clip.vision.projector.scale_factor", 0) or _u(g, "clip.vision.spatial_merge_size", 0)
    types: dict[str, dict[str, int]] = defaultdict(lambda: {"tensors": 0, "params": 0, "bytes": 0})
    for t in g.tensors:
        row = types[t.ggml_type]
        row["tensors"] += 1
        row["params"] += t.n_elements
        row["bytes"] += t.n_bytes
    name = g.get("general.name")
    return MmprojInfo(
        path=g.path,
        name=name if isinstance(name, str) else None,
        projector=projector,
        has_vision=has_vision,
        has_audio=bool(g.get("clip.has_audio_encoder", False)),
        image_size=_u(g, "clip.vision.image_size") if has_vision else 0,
        patch_size=_u(g, "clip.vision.patch_size") if has_vision else 0,
        n_embd=_u(g, "clip.vision.embedding_length") if has_vision else 0,
        n_ff=_u(g, "clip.vision.feed_forward_length") if has_vision else 0,
        n_layer=_u(g, "clip.vision.block_count") if has_vision else 0,
        n_head=_u(g, "clip.vision.attention.head_count") if has_vision else 0,
        projection_dim=_u(g, "clip.vision.projection_dim") if has_vision else 0,
        n_merge=n_merge or DEFAULT_N_MERGE.get(projector, 1),
        weights_bytes=g.tensor_bytes,
        n_params=g.n_params,
        n_tensors=len(g.tensors),
        file_size=g.file_size,
        file_type=g.file_type,
        tensor_types=dict(types),
    )


def read_mmproj(path: str | os.PathLike) -> MmprojInfo:
    """Read a projector file's header (never its tensor data)."""
    g = read_gguf(path_str(path), follow_splits=False)
    if not is_mmproj(g):
        raise BadFileError(
            path,
            f"architecture {g.architecture!r}: not a projector (mmproj) file",
            "Pass the mmproj-*.gguf that ships next to the model.",
        )
    return mmproj_from_gguf(g)


def mmproj_summary(info: MmprojInfo) -> dict[str, Any]:
    """JSON-ready summary for ``rigfit inspect`` of a projector file."""
    return {
        "kind": "mmproj",
        "path": info.path,
        "name": info.name,
        "format": "gguf",
        "architecture": CLIP_ARCH,
        "file_type": info.file_type,
        "arch": {
            "projector": info.projector,
            "has_vision": info.has_vision,
            "has_audio": info.has_audio,
            "image_size": info.image_size,
            "patch_size": info.patch_size,
            "n_embd": info.n_embd,
            "n_ff": info.n_ff,
            "n_layer": info.n_layer,
            "n_head": info.n_head,
            "projection_dim": info.projection_dim,
            "n_merge": info.n_merge,
            "patches_per_image": info.n_patches,
        },
        "n_tensors": info.n_tensors,
        "params": info.n_params,
        "tensor_bytes": info.weights_bytes,
        "file_size": info.file_size,
        "tensor_types": info.tensor_types,
    }
