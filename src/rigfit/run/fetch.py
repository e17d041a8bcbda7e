"""Resolve what the user typed to a GGUF on disk, downloading it from the Hugging Face Hub if asked.

Model references, tried in this order:

1. a path to a ``.gguf`` file (first part of a split model) or a folder holding one GGUF model;
2. ``ollama:NAME[:TAG]`` — the GGUF blob of that model in the local Ollama store;
3. ``org/repo:QUANT`` (``:Q4_K_M`` by default), ``org/repo/path/file.gguf`` — a Hugging Face repo:
   a matching file already in the HF cache or in LM Studio's folder (``publisher/model/…``, the
   same names) is reused without network access; otherwise it is downloaded.

Downloads use ``huggingface_hub`` for the repo metadata (``HfApi.model_info`` with file sizes and
sha256, honouring ``HF_ENDPOINT`` and ``HF_TOKEN``) and stream the bytes themselves into the HF cache
layout (``blobs/<sha256>``, ``snapshots/<commit>/<file>``, ``refs/<revision>``;
https://huggingface.co/docs/huggingface_hub/guides/manage-cache). huggingface_hub 2.x deletes a
partial file when a download is interrupted (huggingface/huggingface_hub#4228), so rigfit keeps its
own partial file ``blobs/<sha256>.rigfit-partial`` and resumes it with an HTTP ``Range`` request,
also after Ctrl-C. Before the first byte, the free space of the cache's disk is checked against
what is left to download; after the last, the file's sha256 is checked against the Hub's LFS
sha256 and a corrupted file is removed.

Planning happens before any download: :func:`fetch_headers` fetches only each file's GGUF header
(a ``Range`` request) into a sparse file of the full size, which :func:`rigfit.formats.source.
load_model_source` reads like the real thing.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rigfit.errors import BadFileError, RigfitError
from rigfit.formats.gguf import iter_gguf_files, read_gguf
from rigfit.formats.hf import hf_cache_snapshot
from rigfit.formats.stores import lmstudio_dirs, resolve_ollama_name
from rigfit.safeio import check_path_length

#: Default file type when a repo is named without one: llama.cpp's ``-hf org/repo`` picks Q4_K_M too
#: ("quant is optional, default to Q4_K_M", https://github.com/ggml-org/llama.cpp/blob/master/common/arg.cpp).
DEFAULT_QUANT = "Q4_K_M"
#: Bytes of a GGUF file fetched to read its header before downloading: tensor infos and the
#: vocabulary of a 256k-token model fit in a few MiB; doubled up to HEADER_MAX_BYTES when not.
HEADER_FIRST_BYTES = 8 * 1024 * 1024
HEADER_MAX_BYTES = 128 * 1024 * 1024
#: Download chunk [B]; requests without a new byte before a download gives up (each resumes with Range).
CHUNK_BYTES = 1024 * 1024
RETRIES = 3
PARTIAL_SUFFIX = ".rigfit-partial"

_SPLIT_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)
_REPO_RE = re.compile(
    r"^(?:hf:|hf\.co/|https://huggingface\.co/)?(?P<repo>[\w.-]+/[\w.-]+)"
    r"(?::(?P<quant>[\w.-]+)|/(?P<file>.+\.gguf))?$",
    re.IGNORECASE,
)

ProgressFn = Callable[[str, int, int], None]


class FetchError(RigfitError):
    """A download that failed (network, corrupted file): exit code 1; bad input stays exit code 2."""

    exit_code = 1


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Hugging Face repo. size_bytes [B]; sha256: the LFS content hash (None when
    the Hub gives none, e.g. a small non-LFS file); commit: the resolved revision."""

    repo: str
    filename: str
    commit: str
    size_bytes: int
    sha256: str | None
    url: str

    def to_json(self) -> dict:
        return {
            "repo": self.repo,
            "file": self.filename,
            "commit": self.commit,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "url": self.url,
        }


@dataclass
class ModelFile:
    """A resolved model reference.

    ref: what the user typed. source: "path" | "ollama" | "hf-cache" | "lmstudio" | "hub".
    path: the GGUF on disk (first part of a split model) — for "hub", where it will be once
    downloaded. remote: the files to download (empty when everything is on disk already).
    """

    ref: str
    source: str
    path: Path
    remote: list[RemoteFile] = field(default_factory=list)
    repo: str | None = None

    @property
    def needs_download(self) -> bool:
        return any(not blob_path(f).is_file() for f in self.remote)

    @property
    def download_bytes(self) -> int:
        """Bytes still to download [B] (what partial files already hold excluded)."""
        return sum(max(0, f.size_bytes - _partial_size(f)) for f in self.remote if not blob_path(f).is_file())

    def to_json(self) -> dict:
        return {
            "ref": self.ref,
            "source": self.source,
            "path": str(self.path),
            "repo": self.repo,
            "needs_download": self.needs_download,
            "download_bytes": self.download_bytes,
            "files": [f.to_json() for f in self.remote],
        }


# --------------------------------------------------------------------------------------------
# references and local stores
# --------------------------------------------------------------------------------------------


def looks_like_path(ref: str) -> bool:
    """A reference meant as a file: ``./x``, ``~/x``, ``/x``, or ``dir/x.gguf`` (a repo reference to a
    file needs three parts: ``org/repo/x.gguf``)."""
    return ref.startswith((".", "~", os.sep)) or (ref.lower().endswith(".gguf") and ref.count("/") < 2)


def parse_repo_ref(ref: str) -> tuple[str, str | None, str | None] | None:
    """``(repo, quant, filename)`` of a Hugging Face reference, None when ``ref`` is not one."""
    if looks_like_path(ref):
        return None
    m = _REPO_RE.match(ref.strip())
    if not m or any(part[:1] in ".-" or part[-1:] in ".-" for part in m.group("repo").split("/")):
        return None
    return m.group("repo"), m.group("quant"), m.group("file")


def quant_matches(filename: str, quant: str) -> bool:
    """Whether a GGUF file name carries the file type ``quant`` (case-insensitive, as a whole token:
    Q4_K matches ``x-Q4_K.gguf`` but not ``x-Q4_K_M.gguf``)."""
    name = Path(filename).name
    pat = rf"(?<![A-Za-z0-9]){re.escape(quant)}(?![A-Za-z0-9_])"
    return name.lower().endswith(".gguf") and re.search(pat, name, re.IGNORECASE) is not None


def is_first_part(filename: str) -> bool:
    """A single-file GGUF or the first part of a split one (``-00001-of-0000N.gguf``)."""
    m = _SPLIT_RE.search(filename)
    return m is None or int(m.group(1)) == 1


def split_siblings(filename: str, names: list[str]) -> list[str]:
    """Every part of the split model whose first part is ``filename`` (just it when not split)."""
    m = _SPLIT_RE.search(filename)
    if m is None:
        return [filename]
    n = int(m.group(2))
    stem = filename[: m.start()]
    want = [f"{stem}-{i:05d}-of-{n:05d}.gguf" for i in range(1, n + 1)]
    have = {x.lower(): x for x in names}
    missing = [w for w in want if w.lower() not in have]
    if missing:
        raise FetchError(f"{filename} is part of a split model whose part {missing[0]} is missing.")
    return [have[w.lower()] for w in want]


def pick_file(names: list[str], quant: str, where: str) -> str:
    """The one GGUF model among ``names`` with file type ``quant`` (first part if split)."""
    hits = sorted(n for n in names if quant_matches(n, quant) and is_first_part(n))
    if len(hits) == 1:
        return hits[0]
    if not hits:
        quants = sorted({q for n in names if (q := _file_type_of(n))})
        tip = f"Available: {', '.join(quants)}." if quants else "It lists no GGUF files."
        raise RigfitError(f"{where} has no GGUF file of type {quant}.", tip + " Pick one with :QUANT.")
    raise RigfitError(
        f"{where} has {len(hits)} GGUF files of type {quant}: {', '.join(hits[:4])}.",
        "Name one file: org/repo/FILE.gguf.",
    )


def _file_type_of(name: str) -> str | None:
    m = re.search(
        r"(?<![A-Za-z0-9])((?:I?Q\d[\w]*?)|F16|BF16|F32|MXFP4(?:_MOE)?)(?:-\d{5}-of-\d{5})?\.gguf$",
        Path(name).name,
        re.IGNORECASE,
    )
    return m.group(1).upper() if m else None


def hf_cache_root() -> Path:
    """Where Hugging Face downloads go: ``$HF_HUB_CACHE``, ``$HF_HOME/hub`` or
    ``~/.cache/huggingface/hub`` (huggingface_hub's own order)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path.home() / ".cache" / "huggingface" / "hub"


def _repo_dir(repo: str) -> Path:
    return hf_cache_root() / ("models--" + repo.replace("/", "--"))


def blob_path(f: RemoteFile) -> Path:
    """Where a downloaded file's bytes live in the HF cache (by sha256, or commit+name without one)."""
    key = f.sha256 or hashlib.sha256(f"{f.commit}/{f.filename}".encode()).hexdigest()
    return _repo_dir(f.repo) / "blobs" / key


def snapshot_path(f: RemoteFile) -> Path:
    return _repo_dir(f.repo) / "snapshots" / f.commit / f.filename


def _partial(f: RemoteFile) -> Path:
    return blob_path(f).with_name(blob_path(f).name + PARTIAL_SUFFIX)


def _partial_size(f: RemoteFile) -> int:
    try:
        return _partial(f).stat().st_size
    except OSError:
        return 0


def _cached_files(repo: str) -> list[tuple[str, Path]]:
    """(relative name, path) of every GGUF in the newest cached snapshot of ``repo`` (HF cache)."""
    snap = hf_cache_snapshot(repo)
    if snap is None:
        return []
    return [(str(p.relative_to(snap)), p) for p in sorted(snap.rglob("*.gguf")) if p.is_file()]


def _lmstudio_files(repo: str) -> list[tuple[str, Path]]:
    """(name, path) of the GGUFs LM Studio keeps for ``repo`` (``<models>/<org>/<repo>/*.gguf``)."""
    out: list[tuple[str, Path]] = []
    for root in lmstudio_dirs():
        d = root / repo
        if d.is_dir():
            out += [(str(p.relative_to(d)), p) for p in sorted(d.rglob("*.gguf")) if p.is_file()]
    return out


def _local_pick(files: list[tuple[str, Path]], quant: str | None, filename: str | None) -> Path | None:
    names = [n for n, _ in files]
    if filename:
        hit = [p for n, p in files if n.lower() == filename.lower()]
        return hit[0] if hit else None
    hits = [n for n in names if quant_matches(n, quant or DEFAULT_QUANT) and is_first_part(n)]
    if len(hits) != 1:
        return None
    try:
        parts = split_siblings(hits[0], names)
    except FetchError:
        return None
    paths = dict(files)
    return paths[parts[0]] if all(paths[p].is_file() for p in parts) else None


def resolve_local(ref: str, quant: str | None = None) -> ModelFile | None:
    """A model reference that is already on disk (path, Ollama, HF cache, LM Studio), else None."""
    check_path_length(ref, "model name")  # ENAMETOOLONG is one line, not a traceback
    p = Path(ref).expanduser()
    if p.exists():
        return ModelFile(ref, "path", _gguf_in(p))
    if ref.startswith("ollama:"):
        blob = resolve_ollama_name(ref[len("ollama:") :])
        if blob is None:
            raise RigfitError(
                f"Ollama model {ref[7:]!r} not found in the local Ollama store.",
                "See `rigfit models --local` for the models on this machine.",
            )
        return ModelFile(ref, "ollama", blob)
    parsed = parse_repo_ref(ref)
    if parsed is None:
        return None
    repo, q, filename = parsed
    for source, files in (("hf-cache", _cached_files(repo)), ("lmstudio", _lmstudio_files(repo))):
        hit = _local_pick(files, q or quant, filename)
        if hit is not None:
            return ModelFile(ref, source, hit, repo=repo)
    return None


def known_sha256(model: ModelFile) -> str | None:
    """The sha256 of a model file when it is known without reading the file: the Hub's LFS hash, or
    the name of a content-addressed blob (HF cache ``blobs/<sha256>``, Ollama ``blobs/sha256-<hex>``)."""
    if model.remote:
        return model.remote[0].sha256
    try:
        name = model.path.resolve().name
    except OSError:
        return None
    m = re.fullmatch(r"(?:sha256-)?([0-9a-f]{64})", name)
    return m.group(1) if m and model.source in ("hf-cache", "ollama") else None


def _gguf_in(p: Path) -> Path:
    if p.is_file():
        return p.resolve()
    ggufs = [g for g in iter_gguf_files(p) if is_first_part(g.name)]
    if len(ggufs) == 1:
        return ggufs[0].resolve()
    if not ggufs:
        raise RigfitError(f"{p}: folder holds no GGUF file.", "rigfit run needs a GGUF model.")
    raise RigfitError(
        f"{p}: folder holds {len(ggufs)} GGUF models.", "Pick one: " + ", ".join(g.name for g in ggufs[:5])
    )


# --------------------------------------------------------------------------------------------
# the Hub
# --------------------------------------------------------------------------------------------


def hub_endpoint() -> str:
    """The Hub's address: ``$HF_ENDPOINT`` (read at call time) or https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")


def _offline() -> bool:
    """huggingface_hub's offline switch (``HF_HUB_OFFLINE``, or its older name ``TRANSFORMERS_OFFLINE``)."""
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in ("1", "on", "yes", "true")


def resolve_remote(ref: str, quant: str | None = None, revision: str = "main") -> ModelFile:
    """The files of a Hugging Face reference (``org/repo:QUANT``, ``org/repo/file.gguf``), sizes and
    sha256 from the Hub (one metadata request; nothing is downloaded)."""
    parsed = parse_repo_ref(ref)
    if parsed is None and looks_like_path(ref):
        raise BadFileError(ref, "no such file or folder")
    if parsed is None:
        raise RigfitError(
            f"{ref!r} is not a GGUF file, an ollama:NAME or a Hugging Face repo.",
            "rigfit run needs a GGUF: give a file, ollama:NAME, or org/repo:Q4_K_M.",
        )
    if _offline():
        raise RigfitError(
            f"{ref} is not on this machine and HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set.",
            "Unset HF_HUB_OFFLINE to download it, or give a local GGUF file.",
        )
    repo, q, filename = parsed
    info = _model_info(repo, revision)
    sizes = {s.rfilename: s for s in (info.siblings or [])}
    names = list(sizes)
    if filename is None:
        filename = pick_file(names, q or quant or DEFAULT_QUANT, repo)
    elif filename not in sizes:
        ggufs = ", ".join(n for n in names if n.endswith(".gguf"))
        raise RigfitError(f"{repo} has no file {filename}.", f"GGUF files: {ggufs[:300] or 'none'}.")
    commit = info.sha or revision
    # lazy: huggingface_hub is heavy to import; only downloads need it
    from huggingface_hub import hf_hub_url

    out = []
    for name in split_siblings(filename, names):
        s = sizes[name]
        lfs = getattr(s, "lfs", None)
        sha = getattr(lfs, "sha256", None) if lfs is not None else None
        size = s.size if s.size is not None else getattr(lfs, "size", None)
        if size is None:
            raise FetchError(f"The Hub gave no size for {repo}/{name}.")
        out.append(
            RemoteFile(
                repo,
                name,
                commit,
                int(size),
                sha,
                hf_hub_url(repo, name, revision=commit, endpoint=hub_endpoint()),
            )
        )
    return ModelFile(ref, "hub", snapshot_path(out[0]), out, repo=repo)


def _model_info(repo: str, revision: str):  # -> huggingface_hub.ModelInfo
    # lazy: huggingface_hub is heavy to import; only downloads need it
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        HFValidationError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return HfApi(endpoint=hub_endpoint()).model_info(
            repo, revision=revision, files_metadata=True, timeout=30
        )
    except GatedRepoError:
        raise RigfitError(
            f"{repo} is gated: accept its terms on the Hub first.",
            "Then log in (hf auth login) or set HF_TOKEN.",
        ) from None
    except RepositoryNotFoundError:
        raise RigfitError(
            f"No Hugging Face repo {repo} (or it is private).",
            "Check the name, or set HF_TOKEN for a private repo.",
        ) from None
    except RevisionNotFoundError:
        raise RigfitError(f"{repo} has no revision {revision!r}.") from None
    except HFValidationError as exc:
        raise RigfitError(f"{repo!r} is not a valid Hugging Face repo name: {exc}") from None
    except HfHubHTTPError as exc:
        if getattr(getattr(exc, "response", None), "status_code", None) == 404:  # mirrors lack error codes
            raise RigfitError(
                f"No Hugging Face repo {repo} at {hub_endpoint()} (or no revision {revision!r}).",
                "Check the name and --revision.",
            ) from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise FetchError(f"The Hub refused the metadata request for {repo}: {first}") from None
    except OSError as exc:  # connection refused, DNS, timeout (httpx errors are OSError-free: below)
        raise FetchError(f"Cannot reach {hub_endpoint()}: {exc}.") from None
    except Exception as exc:  # httpx transport errors
        if type(exc).__module__.startswith(("httpx", "httpcore")):
            raise FetchError(f"Cannot reach {hub_endpoint()}: {exc}.") from None
        raise


def _headers() -> dict[str, str]:
    # lazy: huggingface_hub is heavy to import; only downloads need it
    from huggingface_hub.utils import build_hf_headers

    return build_hf_headers(library_name="rigfit")


def _open(url: str, start: int = 0, end: int | None = None, timeout_s: float = 60.0):
    headers = _headers()
    if start or end is not None:
        headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end))
    req = urllib.request.Request(url, headers=headers)
    try:
        return urllib.request.urlopen(req, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"The Hub answered HTTP {exc.code} for {url}.") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"Cannot reach {url}: {getattr(exc, 'reason', exc)}.") from None


# --------------------------------------------------------------------------------------------
# header only (plan before download)
# --------------------------------------------------------------------------------------------


def fetch_headers(model: ModelFile, folder: str | Path) -> Path:
    """Each file's GGUF header in a sparse file of its full size under ``folder``; returns the
    first part's path (readable by :func:`rigfit.formats.source.load_model_source`)."""
    folder = Path(folder)
    n = HEADER_FIRST_BYTES
    while True:
        paths = [_write_head(f, folder, n) for f in model.remote]
        try:
            read_gguf(paths[0])
            return paths[0]
        except BadFileError as exc:
            if n >= HEADER_MAX_BYTES or n >= max(f.size_bytes for f in model.remote):
                raise FetchError(
                    f"{model.remote[0].filename} on the Hub is not a readable GGUF: {exc.message}"
                ) from None
            n *= 4


def _write_head(f: RemoteFile, folder: Path, n: int) -> Path:
    out = folder / Path(f.filename).name
    end = min(n, f.size_bytes) - 1
    with _open(f.url, 0, end) as resp, open(out, "wb") as fh:
        data = resp.read(end + 1)
        fh.write(data)
        fh.truncate(f.size_bytes)  # sparse: the tensor data is not fetched
    return out


# --------------------------------------------------------------------------------------------
# download
# --------------------------------------------------------------------------------------------


def disk_free_bytes(path: str | Path) -> int:
    """Free bytes on the disk holding ``path`` (its nearest existing parent) [B]."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def check_disk_space(model: ModelFile) -> None:
    """Raise before downloading when the cache's disk cannot hold what is left to download."""
    need = model.download_bytes
    if need <= 0:
        return
    root = hf_cache_root()
    free = disk_free_bytes(root)
    if free < need:
        raise RigfitError(
            f"Not enough disk space to download {model.remote[0].filename}: it needs {need / 1e9:.2f} GB, "
            f"{free / 1e9:.2f} GB are free on the disk of {root}.",
            "Free some space, or point HF_HUB_CACHE at a bigger disk.",
        )


def download(model: ModelFile, progress: ProgressFn | None = None, retries: int = RETRIES) -> Path:
    """Download every file of ``model`` not yet in the cache; return the first part's path.

    Resumes a partial file left by an earlier run (``Range``); a dropped connection is resumed
    again at once, and given up (partial file kept) after ``retries`` consecutive requests that
    brought no new byte; checks size and sha256; links the file into the cache's snapshot.
    progress: called with (file name, bytes done, bytes total).
    """
    check_disk_space(model)
    for f in model.remote:
        if not blob_path(f).is_file():
            _download_one(f, progress, retries)
        _link(f)
    return snapshot_path(model.remote[0])


def _download_one(f: RemoteFile, progress: ProgressFn | None, retries: int) -> None:
    part = _partial(f)
    part.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    have = _hash_existing(part, h) if part.exists() else 0
    if have > f.size_bytes:  # a stale partial of another size: start again
        part.unlink()
        h, have = hashlib.sha256(), 0
    attempt = 0
    while have < f.size_bytes:
        before = have
        try:
            have = _stream(f, part, h, have, progress)
            reason = "the connection closed early"
        except _Restart:
            h, have = hashlib.sha256(), 0
            reason = "the server ignored the Range request"
        except (http.client.IncompleteRead, ConnectionError, TimeoutError, OSError) as exc:
            have = part.stat().st_size if part.exists() else 0
            reason = str(exc) or type(exc).__name__
        if have >= f.size_bytes:
            break
        attempt = 0 if have > before else attempt + 1  # a connection that makes progress may go on
        if attempt > retries:
            raise FetchError(
                f"The download of {f.filename} stopped at {have / 1e6:,.1f} of "
                f"{f.size_bytes / 1e6:,.1f} MB ({reason}).",
                "Run the same command again: it resumes where it stopped.",
            )
    if have != f.size_bytes:
        part.unlink(missing_ok=True)
        raise FetchError(
            f"{f.filename}: got {have:,} bytes, the Hub says {f.size_bytes:,}; removed it.",
            "Run the command again to download it afresh.",
        )
    digest = h.hexdigest()
    if f.sha256 and digest != f.sha256:
        part.unlink(missing_ok=True)
        raise FetchError(
            f"{f.filename} is corrupted: its sha256 is {digest[:16]}…, the Hub's is "
            f"{f.sha256[:16]}…; removed the downloaded file.",
            "Run the command again to download it afresh.",
        )
    os.replace(part, blob_path(f))


def _hash_existing(part: Path, h) -> int:
    n = 0
    with open(part, "rb") as fh:
        while block := fh.read(CHUNK_BYTES):
            h.update(block)
            n += len(block)
    return n


def _stream(f: RemoteFile, part: Path, h, have: int, progress: ProgressFn | None) -> int:
    """Append the rest of ``f`` to ``part`` from byte ``have``; returns the bytes now held."""
    with _open(f.url, have) as resp:
        if have and resp.status != 206:  # the server ignored Range: start over
            part.unlink(missing_ok=True)
            raise _Restart()
        with open(part, "ab") as out:
            while block := resp.read(CHUNK_BYTES):
                out.write(block)
                h.update(block)
                have += len(block)
                if progress is not None:
                    progress(f.filename, have, f.size_bytes)
    return have


class _Restart(OSError):
    """The server ignored a Range request; the partial file was dropped (retried from byte 0)."""


def _link(f: RemoteFile) -> None:
    """``snapshots/<commit>/<file>`` → ``../../blobs/<sha>`` and ``refs/main`` → commit."""
    snap = snapshot_path(f)
    snap.parent.mkdir(parents=True, exist_ok=True)
    if not snap.exists():
        target = os.path.relpath(blob_path(f), snap.parent)
        try:
            os.symlink(target, snap)
        except OSError:  # no symlinks (Windows without developer mode): a copy, like huggingface_hub
            shutil.copyfile(blob_path(f), snap)
    refs = _repo_dir(f.repo) / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if not (refs / "main").exists():
            (refs / "main").write_text(f.commit)


def temp_header_dir() -> tempfile.TemporaryDirectory:
    """A scratch folder for :func:`fetch_headers` (sparse files take no disk space)."""
    return tempfile.TemporaryDirectory(prefix="rigfit-header-")


__all__ = [
    "DEFAULT_QUANT",
    "FetchError",
    "ModelFile",
    "RemoteFile",
    "check_disk_space",
    "disk_free_bytes",
    "download",
    "fetch_headers",
    "hf_cache_root",
    "parse_repo_ref",
    "quant_matches",
    "resolve_local",
    "resolve_remote",
]
