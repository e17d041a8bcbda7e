"""What is inside a model file: the data behind ``rigfit inspect``.

:func:`inspect_source` reads a GGUF (or HF folder / config.json) and returns a JSON-ready
summary: architecture, file type, tensor-type histogram, exact tensor bytes, per-layer bytes,
parameters, context length and the catalog models with the same architecture
(:func:`match_catalog`, by architecture fields rather than by name).
"""

from __future__ import annotations

import difflib
import os
import re
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rigfit.catalog.arch import Architecture, ModelSpec
from rigfit.catalog.models import arch_to_json, models_with_shape
from rigfit.errors import BadFileError
from rigfit.formats.gguf import GGUF_MAGIC, iter_gguf_files, path_stem, path_str, read_gguf
from rigfit.formats.gguf_arch import model_from_gguf
from rigfit.formats.hf import model_from_hf
from rigfit.formats.mmproj import is_mmproj, mmproj_from_gguf, mmproj_summary
from rigfit.formats.remote import fetch_remote, is_offline, parse_remote_ref
from rigfit.formats.stores import resolve_ollama_name
from rigfit.safeio import check_path_length, open_regular

#: Fields that must agree for a file to be "the same architecture" as a catalog model.
STRUCTURE_FIELDS = (
    "n_layer",
    "n_embd",
    "n_head",
    "n_head_kv",
    "n_embd_head_k",
    "n_embd_head_v",
    "n_ff",
    "moe",
    "mla",
    "ssm",
    "sliding_window",
    "swa_layers",
    "recurrent_layers",
)
#: Fields that may differ between fine-tunes of one architecture; used to rank candidates.
DETAIL_FIELDS = ("n_vocab", "n_ctx_train", "tied_embeddings")


def _same_arch_name(file_arch: Architecture, cat: Architecture) -> bool:
    names = {cat.arch, *((cat.extra or {}).get("gguf_arch_aliases") or [])}
    return file_arch.arch in names


def match_catalog(arch: Architecture, name_hint: str = "") -> list[dict[str, Any]]:
    """Catalog models whose architecture fields equal ``arch``'s, best first.

    Each entry: {"id", "name", "match": "exact" | "architecture", "differs": [field, …]}.
    "exact": every structure and detail field agrees; "architecture": the structure agrees but
    vocabulary, training context or tying differ (a fine-tune, distill or re-release).
    """
    hint = re.sub(r"[^a-z0-9.]", "", name_hint.lower())
    out = []
    # n_layer and n_embd are structure fields: pre-filtering on them (and the arch name) only
    # spares building the rest of the catalog
    for cat in models_with_shape(arch.arch, arch.n_layer, arch.n_embd):
        if not _same_arch_name(arch, cat):
            continue
        if any(getattr(arch, f) != getattr(cat, f) for f in STRUCTURE_FIELDS):
            continue
        differs = [f for f in DETAIL_FIELDS if getattr(arch, f) != getattr(cat, f)]
        sim = (
            difflib.SequenceMatcher(
                None, hint, re.sub(r"[^a-z0-9.]", "", f"{cat.id}{cat.name}".lower())
            ).ratio()
            if hint
            else 0.0
        )
        out.append(
            (
                len(differs),
                -sim,
                cat.id,
                {
                    "id": cat.id,
                    "name": cat.name,
                    "match": "architecture" if differs else "exact",
                    "differs": differs,
                },
            )
        )
    out.sort(key=lambda t: t[:3])
    return [t[3] for t in out]


def _layer_bytes(spec: ModelSpec) -> tuple[list[int], dict[str, int]]:
    per = [0] * spec.arch.n_layer
    extra_layers: dict[int, int] = defaultdict(int)
    other: dict[str, int] = defaultdict(int)
    for t in spec.tensors:
        il = t.layer
        if il is None:
            other[t.name.rsplit(".", 1)[0] if t.name.endswith((".weight", ".bias")) else t.name] += t.n_bytes
        elif il < len(per):
            per[il] += t.n_bytes
        else:
            extra_layers[il] += t.n_bytes
    for il, b in sorted(extra_layers.items()):
        other[f"blk.{il} (MTP)"] = b
    return per, dict(other)


def arch_json(arch: Architecture) -> dict[str, Any]:
    try:
        return arch_to_json(arch)
    except Exception:
        d = asdict(arch)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def summarize(spec: ModelSpec, header: Any = None) -> dict[str, Any]:
    """JSON-ready summary of a ModelSpec read from a file (see module docstring)."""
    a = spec.arch
    hist: dict[str, dict[str, int]] = {}
    for t in spec.tensors:
        h = hist.setdefault(t.ggml_type, {"tensors": 0, "bytes": 0, "params": 0})
        h["tensors"] += 1
        h["bytes"] += t.n_bytes
        h["params"] += t.n_elements
    hist = dict(sorted(hist.items(), key=lambda kv: -kv[1]["bytes"]))
    per_layer, other = _layer_bytes(spec)
    n_params = sum(t.n_elements for t in spec.tensors) or (a.total_params or 0)
    tb = spec.weights_bytes
    out: dict[str, Any] = {
        "path": spec.path,
        "format": spec.origin,
        "file_type": spec.file_type,
        "architecture": a.arch,
        "name": a.name or None,
        "n_tensors": len(spec.tensors),
        # None when no weight file was read (an HF config alone): unknown, not zero
        "tensor_bytes": tb if spec.tensors else None,
        "params": n_params,
        "active_params": a.active_params,
        "bits_per_weight": round(tb * 8 / n_params, 4) if n_params and tb else None,
        "context_length": a.n_ctx_train,
        "tensor_types": hist,
        "layer_bytes": per_layer,
        "other_bytes": other,
        "catalog_matches": match_catalog(a, f"{a.name} {path_stem(spec.path or '')}"),
        "arch": arch_json(a),
    }
    if header is not None:
        out["gguf"] = {
            "version": header.version,
            "byte_order": "big" if header.byte_order == ">" else "little",
            "alignment": header.alignment,
            "file_size": header.file_size,
            "parts": [p.path for p in header.parts],
            "metadata_keys": len(header.metadata),
            "data_offset": header.parts[0].data_offset if header.parts else None,
        }
    return out


def inspect_source(ref: str | Path, offline: bool = False) -> dict[str, Any]:
    """Read a GGUF file (any split part), HF folder or config.json, or a remote model's headers
    (``org/name:QUANT``, ``hf:org/name``, ``ollama:NAME``; see :mod:`rigfit.formats.remote`)
    and summarize it. offline: remote names from rigfit's header cache only."""
    s = os.fspath(ref)
    check_path_length(s, "model name")  # ENAMETOOLONG from os.stat is one line, not a traceback
    if (
        os.name == "posix"
        and not s.startswith("~")
        and os.path.isfile(s)
        and not s.endswith((".json", ".safetensors"))
    ):
        # a file that _inspect_any would read as GGUF, read without importing pathlib (~4 ms)
        p = path_str(s)
        g = read_gguf(p)
        return mmproj_summary(mmproj_from_gguf(g)) if is_mmproj(g) else summarize(model_from_gguf(p, g), g)
    rref = _remote_ref(s, offline)
    if rref is not None:
        return _inspect_remote(rref, offline)
    return _inspect_any(ref)


def _remote_ref(s: str, offline: bool) -> Any:
    """The remote model ``s`` names (a bare ``org/name`` too, unless offline), if not a local path."""
    if os.path.exists(os.path.expanduser(s)):
        return None
    rref = parse_remote_ref(s)
    if rref is None and s.count("/") == 1 and not s.startswith((".", "/", "~")) and not is_offline(offline):
        rref = parse_remote_ref("hf:" + s)
    return rref


def _inspect_remote(rref: Any, offline: bool) -> dict[str, Any]:
    """Summary of a remote model from its header-only mirror; paths name the remote files."""
    if rref.kind == "ollama":  # the local Ollama store first, as `rigfit plan` does
        _host, ns, model = rref.repo.split("/")
        short = model if ns == "library" else f"{ns}/{model}"
        blob = resolve_ollama_name(f"{short}:{rref.revision}")
        if blob is not None:
            return _inspect_any(blob)
    rm = fetch_remote(rref, offline)
    out = _inspect_any(rm.local)
    out["path"] = rm.where
    if "gguf" in out:
        out["gguf"]["parts"] = list(rm.files)
    return out


def _inspect_any(ref: str | Path) -> dict[str, Any]:

    p = Path(ref).expanduser()
    if not p.exists():
        raise BadFileError(p, "no such file or folder")
    if p.is_dir() and not (p / "config.json").is_file():
        ggufs = list(iter_gguf_files(p))
        if len(ggufs) != 1:
            raise BadFileError(
                p,
                f"folder holds {len(ggufs)} GGUF models and no config.json",
                "Pass one file." if ggufs else None,
            )
        p = ggufs[0]
    if p.is_dir() or p.suffix == ".json":
        return summarize(model_from_hf(p))
    with open_regular(p, "model file") as fh:  # a FIFO is refused, never opened for a blocking read
        magic = fh.read(4)
    if magic != GGUF_MAGIC and p.suffix == ".safetensors":
        return summarize(model_from_hf(p.parent))
    g = read_gguf(p)
    return mmproj_summary(mmproj_from_gguf(g)) if is_mmproj(g) else summarize(model_from_gguf(p, g), g)
