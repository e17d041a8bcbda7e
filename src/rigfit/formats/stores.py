"""Models the user already has on disk: Ollama's store, the HF cache, LM Studio, GGUF folders.

:func:`find_local_models` lists them without network access and without reading tensor data
(only GGUF headers, when ``details=True``). Locations (each overridable by the usual env vars):

* Ollama: ``$OLLAMA_MODELS``, ``~/.ollama/models``, ``/usr/share/ollama/.ollama/models`` —
  ``manifests/<registry>/<namespace>/<model>/<tag>`` JSON files whose layer of media type
  ``application/vnd.ollama.image.model`` names a GGUF blob ``blobs/sha256-<hex>``.
* Hugging Face cache: ``$HF_HUB_CACHE``, ``$HF_HOME/hub``, ``~/.cache/huggingface/hub`` —
  ``models--org--name/snapshots/<rev>/`` with a config.json and/or ``*.gguf`` files.
* LM Studio: ``$LMSTUDIO_MODELS``, ``~/.lmstudio/models``, ``~/.cache/lm-studio/models`` —
  ``publisher/model/*.gguf``.
* Any extra folders given by the caller: every ``*.gguf`` below them.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rigfit.errors import RigfitError
from rigfit.formats.gguf import iter_gguf_files, read_gguf, split_paths
from rigfit.formats.hf import hf_cache_dirs, model_from_hf
from rigfit.safeio import check_path_length

OLLAMA_MODEL_MEDIA = "application/vnd.ollama.image.model"


@dataclass
class LocalModel:
    """One model found on disk.

    name: how the store names it ("llama3.2:3b", "Qwen/Qwen3-8B", file stem).
    source: "ollama" | "hf-cache" | "lmstudio" | "dir".
    path: the GGUF (first part if split) or the HF snapshot folder — what ``rigfit plan`` accepts.
    format: "gguf" or "hf". size_bytes: bytes on disk (all parts).
    arch, file_type, n_params: from the header when ``details`` was asked (else None).
    error: why the header could not be read (the model is still listed).
    """

    name: str
    source: str
    path: str
    format: str
    size_bytes: int
    arch: str | None = None
    file_type: str | None = None
    n_params: int | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "name",
                "source",
                "path",
                "format",
                "size_bytes",
                "arch",
                "file_type",
                "n_params",
                "error",
            )
        }


def local_models_json(models: Iterable[LocalModel]) -> dict:
    """``rigfit local --json``: ``{"schema": "rigfit.local-models/1", "models": [...]}``."""
    return {"schema": "rigfit.local-models/1", "models": [m.to_json() for m in models]}


def ollama_dirs() -> list[Path]:
    c = []
    if os.environ.get("OLLAMA_MODELS"):
        c.append(Path(os.environ["OLLAMA_MODELS"]))
    c += [Path.home() / ".ollama" / "models", Path("/usr/share/ollama/.ollama/models")]
    return _existing(c)


def lmstudio_dirs() -> list[Path]:
    c = []
    if os.environ.get("LMSTUDIO_MODELS"):
        c.append(Path(os.environ["LMSTUDIO_MODELS"]))
    c += [Path.home() / ".lmstudio" / "models", Path.home() / ".cache" / "lm-studio" / "models"]
    return _existing(c)


def _existing(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        try:
            if p.is_dir() and p.resolve() not in [q.resolve() for q in out]:
                out.append(p)
        except OSError:
            continue
    return out


def _size(paths: Iterable[Path]) -> int:
    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += p.stat().st_size
    return total


def scan_ollama(root: Path) -> list[LocalModel]:
    """Models of one Ollama store (manifests -> GGUF blobs)."""
    out: list[LocalModel] = []
    manifests = root / "manifests"
    if not manifests.is_dir():
        return out
    for mf in sorted(p for p in manifests.rglob("*") if p.is_file()):
        try:
            data = json.loads(mf.read_text(encoding="utf-8"))
            layers = data.get("layers", [])
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
            continue
        digest = next(
            (
                ly.get("digest")
                for ly in layers
                if isinstance(ly, dict) and ly.get("mediaType") == OLLAMA_MODEL_MEDIA
            ),
            None,
        )
        if not isinstance(digest, str):
            continue
        blob = root / "blobs" / digest.replace(":", "-")
        rel = mf.relative_to(manifests).parts  # registry, namespace, model, tag
        model, tag = (rel[-2], rel[-1]) if len(rel) >= 2 else (rel[-1], "latest")
        ns = rel[-3] if len(rel) >= 3 else "library"
        name = f"{model}:{tag}" if ns == "library" else f"{ns}/{model}:{tag}"
        lm = LocalModel(name=name, source="ollama", path=str(blob), format="gguf", size_bytes=_size([blob]))
        if not blob.exists():
            lm.error = "blob missing"
        out.append(lm)
    return out


def scan_hf_cache(root: Path) -> list[LocalModel]:
    """Models in one HF hub cache folder (config.json snapshots and GGUF files)."""
    out = []
    for repo in sorted(root.glob("models--*")):
        repo_id = repo.name[len("models--") :].replace("--", "/")
        snaps = [s for s in sorted((repo / "snapshots").glob("*")) if s.is_dir()]
        ref = repo / "refs" / "main"
        if ref.is_file():
            main = repo / "snapshots" / ref.read_text().strip()
            if main.is_dir():
                snaps = [main]
        for snap in snaps[:1] if ref.is_file() else snaps[-1:]:
            ggufs = list(iter_gguf_files(snap))
            for g in ggufs:
                parts = _safe_parts(g)
                out.append(
                    LocalModel(
                        name=f"{repo_id}/{g.relative_to(snap)}",
                        source="hf-cache",
                        path=str(g),
                        format="gguf",
                        size_bytes=_size(parts),
                    )
                )
            if (snap / "config.json").is_file() and not ggufs:
                st = list(snap.glob("*.safetensors"))
                out.append(
                    LocalModel(
                        name=repo_id, source="hf-cache", path=str(snap), format="hf", size_bytes=_size(st)
                    )
                )
    return out


def _safe_parts(p: Path) -> list[Path]:
    try:
        return split_paths(p)
    except RigfitError:
        return [p]


def scan_gguf_dir(root: Path, source: str = "dir") -> list[LocalModel]:
    out = []
    for g in iter_gguf_files(root):
        try:
            rel = g.relative_to(root)
        except ValueError:
            rel = Path(g.name)
        name = str(rel.with_suffix("")) if source == "lmstudio" else g.stem
        out.append(
            LocalModel(name=name, source=source, path=str(g), format="gguf", size_bytes=_size(_safe_parts(g)))
        )
    return out


def _add_details(m: LocalModel) -> None:
    if m.error:
        return
    try:
        if m.format == "gguf":
            g = read_gguf(m.path)
            m.arch, m.file_type, m.n_params = g.architecture, g.file_type, g.n_params
        else:
            spec = model_from_hf(m.path)
            m.arch, m.file_type, m.n_params = spec.arch.arch, spec.file_type, spec.arch.total_params
    except RigfitError as exc:
        m.error = exc.message


def find_local_models(
    extra_dirs: Iterable[str | os.PathLike] = (), details: bool = True, include_default_stores: bool = True
) -> list[LocalModel]:
    """Every model in the default stores (Ollama, HF cache, LM Studio) and in ``extra_dirs``.

    details: also read each GGUF header / HF config for arch, file type and parameter count
    (headers only: ~10–50 ms per file). Unreadable files are listed with ``error`` set.
    """
    found: list[LocalModel] = []
    if include_default_stores:
        for d in ollama_dirs():
            found += scan_ollama(d)
        for d in hf_cache_dirs():
            found += scan_hf_cache(d)
        for d in lmstudio_dirs():
            found += scan_gguf_dir(d, "lmstudio")
    for extra in extra_dirs:
        check_path_length(extra, "folder to search")  # ENAMETOOLONG is one line, not a traceback
        p = Path(extra).expanduser()
        if p.is_file() and p.suffix.lower() == ".gguf":
            found.append(
                LocalModel(
                    name=p.stem, source="dir", path=str(p), format="gguf", size_bytes=_size(_safe_parts(p))
                )
            )
        elif p.is_dir():
            found += scan_gguf_dir(p)
        else:
            raise RigfitError(f"{p}: no such folder or GGUF file.")
    seen: set[str] = set()
    out = []
    for m in found:
        key = os.path.realpath(m.path)
        if key in seen:
            continue
        seen.add(key)
        if details:
            _add_details(m)
        out.append(m)
    return out


def resolve_ollama_name(name: str) -> Path | None:
    """GGUF blob of an Ollama model name ("llama3.2", "llama3.2:3b", "ns/model:tag")."""
    model, _, tag = name.partition(":")
    tag = tag or "latest"
    ns, _, model = model.rpartition("/")
    ns = ns or "library"
    for root in ollama_dirs():
        for m in scan_ollama(root):
            if m.name in (f"{model}:{tag}", f"{ns}/{model}:{tag}") and Path(m.path).exists():
                return Path(m.path)
    return None
