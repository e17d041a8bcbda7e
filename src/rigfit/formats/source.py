"""One entry point from "whatever the user typed" to a :class:`ModelSpec`.

``load_model_source(ref, file_type)`` accepts, in this order:

1. a path to a ``.gguf`` file (any part of a split model; an Ollama blob without extension
   works too) -> exact tensor table from the header;
2. a Hugging Face folder (``config.json`` + safetensors) or a ``config.json`` path -> the GGUF
   tensor table llama.cpp would load after converting it (at ``file_type``, default the
   checkpoint's dtype); the checkpoint's own safetensors bytes are what ``model_from_hf`` and
   ``rigfit inspect`` report;
3. a folder holding exactly one GGUF model;
4. ``ollama:NAME[:TAG]`` -> that model's GGUF blob in the local Ollama store, else (unless
   offline) the Ollama registry's manifest and blob header (:mod:`rigfit.formats.remote`);
5. ``hf:org/name`` or ``org/name`` present in the local HF cache (offline);
6. a remote name: ``org/name:QUANT``, ``hf:org/name[@REV][:QUANT]``, ``hf.co/…`` or a Hub URL ->
   that GGUF in the local HF cache if it is there (``org/name:QUANT``), else
   the header-only mirror of the repo's GGUF (or safetensors checkpoint) read with HTTP range
   requests, or from rigfit's header cache (:mod:`rigfit.formats.remote`);
   ``modelscope:owner/name[:QUANT]`` the same from ModelScope;
7. a GGUF file name that is not on disk (no folder part: ``Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf``)
   -> the catalog model it names at the quant it names; an Ollama library name (``llama3.3``,
   ``deepseek-r1:32b``, ``gemma3:4b-it-qat``; :mod:`rigfit.catalog.ollama_names`) -> its blob in
   the local Ollama store, else the catalog model and quant it means (a bare catalog id such as
   ``deepseek-r1`` keeps its catalog meaning); :func:`name_assumption` says what was assumed;
8. a catalog id or loose name (``llama-3.1-8b``, "Llama 3.1 8B") -> the tensor table llama.cpp's
   quantizer would produce for ``file_type`` (default: ``catalog.quant.default_file_type``), via
   :func:`rigfit.estimate.tensors.catalog_model_spec`;
9. a bare ``org/name`` that is none of the above -> that Hub repo, as in 6.

``offline`` (or ``HF_HUB_OFFLINE=1``) keeps 4, 6 and 9 to rigfit's header cache; a Hub, ModelScope
or ``ollama:`` library name whose headers are not cached there plans as the catalog model it names
(as 8), if there is one.

With a real file, ``file_type`` is normally left out. If it names a different type than the
file's, the file's architecture is re-planned at that type (predicted tensors,
``tensors_exact=False``): "what would this model need at Q8_0?".
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from rigfit.catalog.arch import ModelSpec
from rigfit.catalog.models import get_model, resolve_model
from rigfit.catalog.ollama_names import is_library_name, resolve_ollama_library
from rigfit.catalog.quant import default_file_type, resolve_file_type
from rigfit.errors import BadFileError, RigfitError, UnknownNameError
from rigfit.estimate.tensors import catalog_model_spec
from rigfit.formats.gguf import GGUF_MAGIC, iter_gguf_files
from rigfit.formats.gguf_arch import model_from_gguf
from rigfit.formats.hf import hf_cache_snapshot, model_from_hf
from rigfit.formats.remote import (
    OLLAMA_DEFAULT_HOST,
    NotCachedError,
    RemoteRef,
    fetch_remote,
    is_offline,
    parse_remote_ref,
    pick_local_gguf,
)
from rigfit.formats.stores import resolve_ollama_name
from rigfit.safeio import check_path_length, require_regular_file


def _norm_ft(ft: str | None) -> str:
    return (ft or "").upper().replace("-", "_").replace(" ", "")


def _is_gguf(p: Path) -> bool:
    try:
        with open(p, "rb") as fh:
            return fh.read(4) == GGUF_MAGIC
    except OSError:
        return False


def _requant(spec: ModelSpec, file_type: str | None) -> ModelSpec:
    """Re-plan a file's architecture at another file type when the user asks for one."""
    if not file_type or _norm_ft(file_type) == _norm_ft(spec.file_type):
        return spec
    pred = catalog_model_spec(spec.arch, file_type)
    return replace(pred, origin=spec.origin, path=spec.path, tensors_exact=False)


def _hf_as_gguf(spec: ModelSpec, file_type: str | None) -> ModelSpec:
    """A HF checkpoint as llama.cpp would load it after conversion: GGUF tensor names and types
    for ``file_type`` (default: the checkpoint's own 16/32-bit dtype, else BF16, which is what
    convert_hf_to_gguf.py writes for FP8/other checkpoints)."""
    ft = file_type or (spec.file_type if spec.file_type in ("F16", "BF16", "F32") else "BF16")
    pred = catalog_model_spec(spec.arch, ft)
    return replace(pred, origin="hf", path=spec.path, tensors_exact=False)


def _from_path(p: Path, file_type: str | None) -> ModelSpec:
    if p.is_file():
        if p.name == "config.json" or p.suffix == ".json":
            return _hf_as_gguf(model_from_hf(p), file_type)
        if p.suffix.lower() == ".gguf" or _is_gguf(p):
            return _requant(model_from_gguf(p), file_type)
        if p.suffix == ".safetensors":
            return _hf_as_gguf(model_from_hf(p.parent), file_type)
        raise BadFileError(p, "not a GGUF file, config.json or model folder")
    if p.is_dir():
        if (p / "config.json").is_file():
            return _hf_as_gguf(model_from_hf(p), file_type)
        ggufs = list(iter_gguf_files(p))
        if len(ggufs) == 1:
            return _requant(model_from_gguf(ggufs[0]), file_type)
        if not ggufs:
            raise BadFileError(p, "folder holds no GGUF file and no config.json")
        names = ", ".join(str(g.relative_to(p)) for g in ggufs[:6])
        raise RigfitError(f"{p}: folder holds {len(ggufs)} GGUF models.", f"Pick one: {names}")
    require_regular_file(p, "model file")  # a FIFO, device or socket: says what it is
    raise BadFileError(p, "no such file or folder")


def _looks_like_path(ref: str) -> bool:
    return (
        ref.lower().endswith((".gguf", ".json", ".safetensors"))
        or ref.startswith((".", "~", os.sep))
        or (os.sep in ref.rstrip(os.sep) and ref.count("/") != 1)
    )


def _from_remote(ref: str, file_type: str | None, offline: bool) -> ModelSpec:
    """A remote model's spec, read from its header-only mirror; ``path`` names the remote file."""
    rref = parse_remote_ref(ref)
    if rref is None:
        raise RigfitError(f"{ref!r} is not a remote model name.", "Write it as hf:ORG/NAME or ollama:NAME.")
    try:
        rm = fetch_remote(rref, offline)
    except NotCachedError:
        fallback = _catalog_fallback(rref, file_type)
        if fallback is None:
            raise
        return fallback
    spec = replace(_from_path(rm.local, file_type), path=rm.label)
    if rm.config_url:
        spec = replace(spec, arch=replace(spec.arch, sources=(f"Hugging Face config {rm.config_url}",)))
    return spec


def _catalog_fallback(rref: RemoteRef, file_type: str | None) -> ModelSpec | None:
    """Offline and not cached: the catalog model the repo names (its hf_repo, or a GGUF repo
    named after it) at the quant asked for, predicted like any catalog model; None if none."""
    if rref.kind == "ollama":  # only Ollama's own library names map onto the catalog
        library = f"{OLLAMA_DEFAULT_HOST}/library/"
        if not rref.repo.startswith(library):
            return None
        return _from_ollama_library(f"{rref.repo[len(library) :]}:{rref.revision or 'latest'}", file_type)
    try:
        arch = resolve_model(rref.repo)
        ft = file_type or (resolve_file_type(rref.selector).name if rref.selector else None)
        return catalog_model_spec(arch, ft or default_file_type(arch.id))
    except RigfitError:
        return None


def _from_ollama_library(ref: str, file_type: str | None) -> ModelSpec | None:
    """The catalog model an Ollama library name means, at the tag's quant (or ``file_type``);
    None when the name is not an Ollama library name. UnknownNameError for sizes the catalog lacks."""

    name = resolve_ollama_library(ref)
    if name is None:
        return None
    return catalog_model_spec(
        get_model(name.catalog_id), file_type or name.file_type or default_file_type(name.catalog_id)
    )


def _is_bare_file_name(ref: str) -> bool:
    """A GGUF file name without a folder part (``Llama-3.1-8B-Instruct-Q4_K_M.gguf``)."""
    return (
        ref.lower().endswith(".gguf")
        and Path(ref).name == ref
        and "/" not in ref
        and not ref.startswith((".", "~"))
    )


def _from_file_name(ref: str, file_type: str | None) -> ModelSpec:
    """A GGUF file name that is not on disk, read as the catalog model and quant it names.

    BadFileError ("no such file") when the name is not a catalog model: a missing file stays a
    file error unless its name says unambiguously which model it is."""

    try:
        arch = resolve_model(ref)
    except RigfitError:
        raise BadFileError(ref, "no such file or folder, and no catalog model by that name") from None
    try:
        named = resolve_file_type(ref[: -len(".gguf")]).name
    except RigfitError:
        named = None
    return catalog_model_spec(arch, file_type or named or default_file_type(arch.id))


def _from_ollama_name(ref: str, file_type: str | None) -> ModelSpec | None:
    """A bare Ollama library name: its blob in the local Ollama store, else the catalog model it
    means; None when ``ref`` is no library name or is a bare catalog name (``deepseek-r1``, ``phi4``)."""

    if not is_library_name(ref):
        return None
    if ":" not in ref:
        try:
            resolve_model(ref)
            return None  # the catalog's own meaning of the name wins
        except RigfitError:
            pass
    blob = resolve_ollama_name(ref)
    if blob is not None:
        return _from_path(blob, file_type)
    return _from_ollama_library(ref, file_type)


def name_assumption(ref: str | os.PathLike, spec: ModelSpec) -> str | None:
    """One line saying which catalog model a file or Ollama name not found locally was taken for;
    None when ``ref`` was used as given (a real file, a catalog id, a remote header)."""
    sref = os.fspath(ref).strip()
    if spec.origin != "catalog" or Path(sref).expanduser().exists():
        return None
    what = f"{spec.arch.name} ({spec.arch.id}) at {spec.file_type}, tensors estimated"
    if _is_bare_file_name(sref):
        return f"no file {sref!r} here: assumed the catalog model {what}"
    if is_library_name(sref.removeprefix("ollama:")) and (":" in sref or _ollama_meaning(sref)):
        return f"Ollama name {sref!r} (not in the local Ollama store): assumed the catalog model {what}"
    return None


def _ollama_meaning(ref: str) -> bool:
    """True when a bare name is resolved by Ollama's naming rather than as a catalog name."""

    try:
        resolve_model(ref)
    except RigfitError:
        return True
    return False


def _local_hf_gguf(rref: RemoteRef) -> Path | None:
    """``org/name:QUANT`` already in the local HF cache (newest snapshot, no revision asked)."""
    if rref.kind != "hf" or rref.revision:
        return None
    snap = hf_cache_snapshot(rref.repo)
    return pick_local_gguf(snap, rref) if snap is not None else None


def load_model_source(
    ref: str | os.PathLike, file_type: str | None = None, offline: bool = False
) -> ModelSpec:
    """Resolve a model reference (file, folder, store or remote name, catalog id) to a ModelSpec.

    offline: never use the network (remote names come from rigfit's header cache only).
    Raises BadFileError for unreadable files, UnknownNameError (with suggestions) for names that
    are neither a file nor a catalog model, RigfitError for remote failures (one line each).
    """
    sref = os.fspath(ref)
    if not sref.strip():
        raise RigfitError(
            "Empty model name.",
            "Give a catalog id ('rigfit models'), a GGUF file, an HF folder or ollama:NAME.",
        )
    check_path_length(sref, "model name")  # ENAMETOOLONG from os.stat is one line, not a traceback
    p = Path(sref).expanduser()
    if p.exists():
        return _from_path(p, file_type)
    if sref.startswith("ollama:"):
        blob = resolve_ollama_name(sref[len("ollama:") :])
        if blob is None:
            return _from_remote(sref, file_type, offline)
        return _from_path(blob, file_type)
    if sref.startswith("hf:") or (sref.count("/") == 1 and not p.exists()):
        snap = hf_cache_snapshot(sref[3:] if sref.startswith("hf:") else sref)
        if snap is not None:
            return _from_path(snap, file_type)
    rref = parse_remote_ref(sref)
    if rref is not None:
        local = _local_hf_gguf(rref)
        return _from_path(local, file_type) if local else _from_remote(sref, file_type, offline)
    if _is_bare_file_name(sref):
        return _from_file_name(sref, file_type)
    by_ollama = _from_ollama_name(sref, file_type)
    if by_ollama is not None:
        return by_ollama
    if _looks_like_path(sref):
        raise BadFileError(sref, "no such file or folder")
    try:
        arch = resolve_model(sref)
    except UnknownNameError:
        if sref.count("/") != 1 or is_offline(offline):
            raise
        return _from_remote("hf:" + sref, file_type, offline)
    return catalog_model_spec(arch, file_type or default_file_type(arch.id))
