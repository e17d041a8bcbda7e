"""Models on the Hugging Face Hub or the Ollama registry, read without downloading them.

Names (:func:`parse_remote_ref`):

* ``org/name:QUANT`` or ``org/name:FILE.gguf`` — a GGUF repo on the Hub and one quant of it
  (``hf.co/org/name:QUANT`` and ``https://huggingface.co/org/name`` URLs work too);
* ``hf:org/name[@REVISION][:QUANT]`` — any Hub repo: its GGUF files, or else its safetensors
  checkpoint (``config.json``, ``model.safetensors.index.json`` and every shard's header);
* ``ollama:[HOST/][NAMESPACE/]MODEL[:TAG]`` — an Ollama registry manifest and its GGUF blob
  (used only when the local Ollama store lacks the model).

Only headers travel: a GGUF header is read with HTTP range requests from byte 0, the range
growing until the tensor table is complete (:func:`rigfit.formats.gguf.gguf_header_extent`);
split GGUFs read every part's header. A safetensors shard costs its 8-byte length and its JSON
header. Each header is stored in rigfit's cache as a *header-only mirror* of the file:
``$RIGFIT_CACHE_DIR`` (default the platform user cache, ``$XDG_CACHE_HOME/rigfit`` on Linux)
``/headers/hf/models--ORG--NAME/snapshots/COMMIT/FILE`` and ``/headers/ollama/blobs/sha256-HEX``,
keyed by the commit or content digest. The mirror has the header's bytes and the remote file's
size, the rest a hole (a sparse file: it takes the header's bytes on disk on ext4, XFS, btrfs,
APFS and tmpfs), so the local readers (:func:`~rigfit.formats.gguf.read_gguf`,
:func:`~rigfit.formats.hf.model_from_hf`) read it exactly as they read a downloaded file and a
remote model plans exactly like a local one. The mirror holds no weights: the ModelSpec's
``path`` names the remote file, never the mirror.

``offline`` (``--offline``, or ``HF_HUB_OFFLINE=1``) uses only that cache. Hub access goes
through ``huggingface_hub`` (imported lazily, only on this path: ~0.3 s), so ``HF_TOKEN`` (or
``hf auth login``), ``HF_ENDPOINT`` and the ``HTTPS_PROXY``/``HTTP_PROXY`` variables apply; the
Ollama registry is ``https://HOST`` (``$RIGFIT_OLLAMA_REGISTRY`` overrides the base URL).
Every failure (network, 401/403, gated repo, 404, 429, bad header) is one RigfitError line.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigfit.catalog.models import load_models
from rigfit.errors import AmbiguousNameError, BadFileError, RigfitError
from rigfit.formats.bundled import cache_dir
from rigfit.formats.gguf import _SPLIT_RE, gguf_header_extent, read_gguf
from rigfit.formats.safetensors import MAX_HEADER_BYTES as MAX_ST_HEADER_BYTES
from rigfit.formats.safetensors import read_safetensors_header

#: First range read of a GGUF [B]; later ones grow to the header length estimated from it.
FIRST_RANGE_BYTES = 1 << 20
#: First range read of split parts 2… [B]: they hold a few split keys and their tensor infos.
LATER_PART_RANGE_BYTES = 1 << 17
#: First range read of a safetensors shard [B] (headers are ~10–200 KB).
ST_FIRST_RANGE_BYTES = 1 << 16
#: No real GGUF header is near this long (the largest, 256k-token vocabularies with merges,
#: are ~15 MB); a longer one is treated as corruption rather than fetched.
MAX_GGUF_HEADER_BYTES = 256 << 20
#: Whole files read (config.json, the safetensors index, manifests) are small; a larger answer is
#: not one of them [B].
MAX_WHOLE_FILE_BYTES = 64 << 20
#: Seconds to wait for a connection or a read before giving up (never hang).
TIMEOUT_S = 30.0
HF_DEFAULT_ENDPOINT = "https://huggingface.co"
#: ModelScope's site; ``$MODELSCOPE_DOMAIN`` (as the modelscope SDK reads it) names another host.
MODELSCOPE_DEFAULT_DOMAIN = "www.modelscope.cn"
_HUB_NAMES = {"hf": "Hugging Face", "modelscope": "ModelScope", "ollama": "Ollama"}
OLLAMA_DEFAULT_HOST = "registry.ollama.ai"
#: Ollama's default quant for ``hf.co/org/name`` without a tag (https://huggingface.co/docs/hub/en/ollama).
DEFAULT_QUANT = "Q4_K_M"
_MANIFEST_ACCEPT = "application/vnd.docker.distribution.manifest.v2+json"
_OLLAMA_MODEL_MEDIA = "application/vnd.ollama.image.model"
_REPO_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HF_URL_RE = re.compile(
    r"^(?:https?://)?(?:hf\.co|huggingface\.co)/(?P<repo>[^/:@\s]+/[^/:@\s]+)(?P<rest>.*)$"
)


class NotCachedError(RigfitError):
    """Offline, and the remote model's headers are not in rigfit's header cache."""


@dataclass(frozen=True)
class RemoteRef:
    """A parsed remote name. kind: "hf" or "ollama". repo: ``org/name`` (Hub) or
    ``[host/]namespace/model`` (Ollama). revision: branch, tag or commit (Hub) / tag (Ollama).
    selector: quant ("Q4_K_M", "UD-Q4_K_XL") or file name, None for the repo's default."""

    kind: str
    repo: str
    revision: str | None = None
    selector: str | None = None

    @property
    def display(self) -> str:
        if self.kind == "ollama":
            return f"ollama:{self.repo}:{self.revision or 'latest'}"
        rev = f"@{self.revision}" if self.revision else ""
        prefix = "modelscope:" if self.kind == "modelscope" else ""
        return f"{prefix}{self.repo}{rev}" + (f":{self.selector}" if self.selector else "")


@dataclass
class Transfer:
    """What one remote read cost: HTTP requests made and response body bytes received [B]."""

    requests: int = 0
    bytes_received: int = 0
    files: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteModel:
    """A remote model's header-only mirror. local: the mirror (first GGUF part, or the
    checkpoint folder). name: what the user asked for. files: the remote files read.
    revision: commit sha (Hub) or blob digest (Ollama). transfer: what it cost (zero from cache)."""

    local: Path
    name: str
    files: tuple[str, ...]
    revision: str
    transfer: Transfer
    #: public URL of the checkpoint's config.json (safetensors repos), for Architecture.sources
    config_url: str | None = None
    #: where the files live, for ``rigfit inspect``: ``org/name/FILE.gguf``, ``org/name`` or the Ollama name
    where: str = ""

    @property
    def label(self) -> str:
        """What ModelSpec.path shows: the GGUF file name (``llama-server -m`` takes it once
        downloaded), the Hub repo of a safetensors checkpoint, or the Ollama name."""
        if self.name.startswith("ollama:"):
            return self.name
        first = self.files[0]
        return first.rsplit("/", 1)[-1] if first.lower().endswith(".gguf") else self.name


# --- names ---------------------------------------------------------------------------------------


def _split_selector(text: str) -> tuple[str, str | None, str | None]:
    """``org/name[@rev][:sel]`` -> (repo, rev, sel)."""
    sel = rev = None
    if ":" in text:
        text, sel = text.split(":", 1)
    if "@" in text:
        text, rev = text.split("@", 1)
    return text, rev or None, sel or None


def parse_remote_ref(ref: str) -> RemoteRef | None:
    """The remote model a name asks for, or None when it does not name one explicitly.

    ``hf:org/name[@rev][:sel]``, ``org/name[@rev]:sel``, ``hf.co/org/name[:sel]``,
    ``https://huggingface.co/org/name[/blob/REV/FILE]`` and ``ollama:…`` are remote; a bare
    ``org/name`` is not (it may be a catalog model or in the local HF cache).
    """
    s = ref.strip()
    if s.startswith("ollama:"):
        return _parse_ollama(s[len("ollama:") :])
    if s.startswith("modelscope:"):
        repo, rev, sel = _split_selector(s[len("modelscope:") :])
        return RemoteRef("modelscope", repo, rev, sel) if _REPO_RE.match(repo) else None
    m = _HF_URL_RE.match(s)
    if m:
        repo, rest = m.group("repo"), m.group("rest")
        parts = rest.strip("/").split("/")
        if rest.startswith("/") and len(parts) >= 3 and parts[0] in ("blob", "resolve", "tree"):
            return RemoteRef("hf", repo, parts[1], "/".join(parts[2:]) or None)
        _, rev, sel = _split_selector(rest)
        return RemoteRef("hf", repo, rev, sel)
    if s.startswith("hf:"):
        repo, rev, sel = _split_selector(s[3:])
        return RemoteRef("hf", repo, rev, sel) if _REPO_RE.match(repo) else None
    repo, rev, sel = _split_selector(s)
    if _REPO_RE.match(repo) and sel:
        return RemoteRef("hf", repo, rev, sel)
    return None


def _parse_ollama(name: str) -> RemoteRef | None:
    """``[host/][namespace/]model[:tag]`` (Ollama's defaults: registry.ollama.ai, library, latest)."""
    if name.startswith(("hf.co/", "huggingface.co/")):
        return parse_remote_ref(name)
    path, _, tag = name.partition(":")
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 3:
        return None
    if len(parts) == 3:
        host, ns, model = parts
    elif len(parts) == 2:
        host, (ns, model) = OLLAMA_DEFAULT_HOST, parts
    else:
        host, ns, model = OLLAMA_DEFAULT_HOST, "library", parts[0]
    return RemoteRef("ollama", f"{host}/{ns}/{model}", tag or "latest")


def is_offline(offline: bool = False) -> bool:
    """True when the user asked for no network: ``--offline`` or ``HF_HUB_OFFLINE=1``."""
    # read as huggingface_hub.constants reads it, but now rather than at its import
    env = (os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or "").strip().upper()
    return offline or env in ("1", "ON", "YES", "TRUE")


# --- the header cache ----------------------------------------------------------------------------


def header_cache_dir() -> Path:
    """Root of the header-only mirrors: ``<rigfit user cache>/headers``."""
    return cache_dir() / "headers"


def _repo_dir(ref: RemoteRef) -> Path:
    """``headers/{hf|modelscope}/models--ORG--NAME`` (the HF cache's own layout)."""
    return header_cache_dir() / ref.kind / ("models--" + ref.repo.replace("/", "--"))


def _safe_rel(name: str) -> str:
    """A remote file name as a relative path inside the mirror (no ``..``, no absolute path)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    if not parts:
        raise RigfitError(f"Bad remote file name {name!r}.")
    return "/".join(parts)


def _write_mirror(dest: Path, head: bytes, size: int, check: Callable[[Path], object], label: str) -> None:
    """Store ``head`` as the first bytes of a ``size``-byte sparse file at ``dest``, after
    ``check`` (a header reader) accepts it; its BadFileError is re-labelled with ``label``."""
    tmp = dest.with_name(f".{dest.name}.tmp{os.getpid()}")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(head)
            fh.truncate(max(size, len(head)))
        try:
            check(tmp)
        except BadFileError as exc:
            raise BadFileError(label, exc.problem, exc.suggestion) from None
        os.replace(tmp, dest)
    except OSError as exc:  # read-only cache, full disk, no sparse files
        raise RigfitError(
            f"Cannot write the header cache {dest.parent}: {exc.strerror or exc}.",
            "Set RIGFIT_CACHE_DIR to a writable folder on a filesystem with sparse files.",
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()


# --- HTTP ----------------------------------------------------------------------------------------


class _Http:
    """Ranged GETs through huggingface_hub's shared httpx client (proxies, redirects), with a
    timeout, byte counting and one-line errors."""

    def __init__(
        self, what: str, transfer: Transfer, headers: dict[str, str] | None = None, hub: str = "hf"
    ) -> None:
        from huggingface_hub.utils import get_session  # lazy: only remote names pay its import

        self.session = get_session()
        self.what = what
        self.hub = hub
        self.transfer = transfer
        self.headers = headers or {}
        #: URL -> where it redirected (the Hub's LFS/Xet CDN), so that later ranges skip the hop
        self.moved: dict[str, str] = {}

    def get(
        self, url: str, start: int = 0, end: int | None = None, accept: str | None = None
    ) -> tuple[bytes, int]:
        """Bytes ``[start, end)`` of ``url`` (all of it when ``end`` is None) and the file's size
        (from Content-Range; the body length when the server sends the whole file)."""
        headers = dict(self.headers)
        target = self.moved.get(url, url)
        if _origin(target) != _origin(url):  # the CDN a resolve URL redirected to: no token there
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if end is not None:
            headers["Range"] = f"bytes={start}-{end - 1}"
        if accept:
            headers["Accept"] = accept
        try:
            with self.session.stream("GET", target, headers=headers, timeout=TIMEOUT_S) as r:
                self.transfer.requests += 1
                if r.status_code in (200, 206) and str(r.url) != target:
                    self.moved[url] = str(r.url)  # later ranges go straight to the redirect target
                if r.status_code >= 400:
                    r.read()
                    raise http_error(r.status_code, self.what, r.headers.get("X-Error-Code"), self.hub)
                body = self._read(r, start, end)
                size = _total_size(r.headers.get("Content-Range"))
                if size is None:
                    size = len(body) if r.status_code == 200 and end is None else _content_length(r)
        except Exception as exc:
            if not is_network_error(exc):
                raise
            raise network_error(exc, self.what) from None
        self.transfer.bytes_received += len(body)
        self.transfer.files[url] = self.transfer.files.get(url, 0) + len(body)
        return body, size

    @staticmethod
    def _read(r: Any, start: int, end: int | None) -> bytes:
        """The body, stopping at ``end``: a server that ignores Range sends the whole file from
        byte 0, and only its first ``end`` bytes are read."""
        skip = start if r.status_code == 200 else 0
        want = None if end is None else end - start + skip
        chunks, got = [], 0
        for chunk in r.iter_bytes():
            chunks.append(chunk)
            got += len(chunk)
            if want is not None and got >= want:
                break
            if want is None and got > MAX_WHOLE_FILE_BYTES:
                raise RigfitError(
                    f"{r.url}: more than {MAX_WHOLE_FILE_BYTES >> 20} MiB for a small "
                    "JSON file (config, index or manifest).",
                    "Is this the right repo?",
                )
        body = b"".join(chunks)
        return body[skip:want]


def is_network_error(exc: BaseException) -> bool:
    """An exception from the network stack (httpx, huggingface_hub, sockets, TLS) rather than
    a bug: only these become one-line errors."""
    root = type(exc).__module__.split(".")[0]
    return isinstance(exc, OSError) or root in (
        "httpx",
        "httpx2",
        "httpcore",
        "h11",
        "huggingface_hub",
        "ssl",
    )


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _total_size(content_range: str | None) -> int | None:
    if content_range and "/" in content_range:
        tail = content_range.rsplit("/", 1)[1].strip()
        if tail.isdigit():
            return int(tail)
    return None


def _content_length(r: Any) -> int:
    v = r.headers.get("Content-Length", "")
    return int(v) if v.isdigit() else 0


def http_error(status: int, what: str, error_code: str | None = None, hub: str = "hf") -> RigfitError:
    """One clear line for an HTTP error status while reading ``what`` from ``hub`` ("hf",
    "modelscope", "ollama")."""
    if status == 429:
        return RigfitError(
            f"{what}: rate limited by the server (HTTP 429).",
            "Wait a minute and try again"
            + ("; logged-in Hub users get higher limits (hf auth login)." if hub == "hf" else "."),
        )
    if hub != "hf" and status in (401, 403):
        return RigfitError(
            f"{what}: access denied (HTTP {status}).",
            f"rigfit reads public {_HUB_NAMES.get(hub, hub)} models only.",
        )
    if error_code == "GatedRepo" or status == 403:
        return RigfitError(
            f"{what}: access denied (HTTP {status}); the repo is gated or private.",
            "Accept its licence on its Hugging Face page, then log in with `hf auth login` "
            "or set HF_TOKEN=hf_… to a token with read access.",
        )
    if status == 401:
        return RigfitError(
            f"{what}: not authorised (HTTP 401): private or gated, or the token is invalid.",
            "Log in with `hf auth login` or set HF_TOKEN=hf_… to a valid read token.",
        )
    if status == 404:
        return RigfitError(f"{what}: not found (HTTP 404).", "Check the name and the revision.")
    return RigfitError(f"{what}: the server answered HTTP {status}.", "Try again later, or use --offline.")


def network_error(exc: BaseException, what: str) -> RigfitError:
    """One clear line for a failure below HTTP (DNS, refused connection, timeout, offline mode)."""
    name = type(exc).__name__
    if name == "OfflineModeIsEnabled":
        return RigfitError(
            f"{what}: offline mode is on (HF_HUB_OFFLINE) and the header is not in rigfit's cache.",
            "Unset HF_HUB_OFFLINE and drop --offline to read it from the network once.",
        )
    reason = str(exc).splitlines()[0] if str(exc) else name
    if "timeout" in name.lower() or "timed out" in reason.lower():
        reason = f"timed out after {TIMEOUT_S:g} s"
    return RigfitError(
        f"{what}: cannot reach the server ({reason}).",
        "Check the network or proxy (HTTPS_PROXY), or use --offline for cached headers and the catalog.",
    )


# --- headers -------------------------------------------------------------------------------------


def fetch_gguf_header(
    http: _Http, url: str, size: int | None, label: str, first: int = FIRST_RANGE_BYTES
) -> tuple[bytes, int]:
    """The header bytes of the GGUF at ``url`` and the file's size [B], read from byte 0 with
    range requests (the first ``first`` bytes long) that grow to the header length estimated
    from what was read."""
    buf = bytearray()
    total = size
    target = first
    while True:
        end = min(target, total) if total else target
        chunk, seen = http.get(url, len(buf), end)
        total = total or seen
        buf += chunk
        data_offset, need = gguf_header_extent(buf, label)
        if data_offset is not None:
            return bytes(buf[: min(len(buf), data_offset)]), total or len(buf)
        if not chunk or (total and len(buf) >= total):
            return bytes(buf), max(total or 0, len(buf))  # read_gguf says what is wrong
        if need > MAX_GGUF_HEADER_BYTES:
            raise BadFileError(
                label,
                f"corrupt GGUF header: it claims about {need:,} bytes (more than "
                f"{MAX_GGUF_HEADER_BYTES >> 20} MiB)",
            )
        target = max(need + need // 8, len(buf) + (256 << 10))
        target = -(-target // 65536) * 65536


def fetch_safetensors_header(http: _Http, url: str, size: int | None, label: str) -> tuple[bytes, int]:
    """The 8-byte length and JSON header of the safetensors file at ``url``, and its size [B]."""
    first = ST_FIRST_RANGE_BYTES if not size else min(size, ST_FIRST_RANGE_BYTES)
    buf, total = http.get(url, 0, first)
    total = size or total
    if len(buf) < 8:
        raise BadFileError(label, "truncated safetensors file (no header length)")
    (n,) = struct.unpack_from("<Q", buf)
    if n > MAX_ST_HEADER_BYTES or n > total - 8:
        raise BadFileError(label, f"safetensors header claims {n:,} bytes in a {total:,}-byte file")
    if 8 + n > len(buf):
        rest, _ = http.get(url, len(buf), 8 + n)
        buf += rest
    return buf[: 8 + n], total


# --- Hugging Face --------------------------------------------------------------------------------


def hf_endpoint() -> str:
    """``$HF_ENDPOINT`` (read now, not at import) or https://huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")


def _hf_listing(ref: RemoteRef, offline: bool, transfer: Transfer) -> tuple[str, dict[str, int | None]]:
    """(commit sha, {file: size}) of a Hub repo at ``ref.revision``: from the Hub (one
    ``GET /api/models/{repo}[/revision/{rev}]?blobs=true``) or, offline, from the cache."""
    rdir = _repo_dir(ref)
    rev = ref.revision or "main"
    if offline:
        return _cached_listing(ref, rdir, rev)
    from huggingface_hub import HfApi  # lazy: only remote names pay its import

    try:
        info = HfApi(endpoint=hf_endpoint()).model_info(
            ref.repo, revision=ref.revision, files_metadata=True, timeout=TIMEOUT_S
        )
    except Exception as exc:
        if not is_network_error(exc):  # huggingface_hub's own errors count (HFValidationError …)
            raise
        raise _hf_exception(exc, ref) from None
    transfer.requests += 1
    sha = info.sha or rev
    files = {s.rfilename: (s.lfs.size if s.lfs else s.size) for s in info.siblings or []}
    _save_listing(rdir, rev, sha, files)
    return sha, files


def _save_listing(rdir: Path, rev: str, sha: str, files: dict[str, int | None]) -> None:
    """Remember a listing for --offline: ``refs/REV`` -> sha, ``snapshots/SHA/.rigfit-files.json``."""
    snap = rdir / "snapshots" / _safe_rel(sha)
    try:
        snap.mkdir(parents=True, exist_ok=True)
        (snap / ".rigfit-files.json").write_text(json.dumps(files, sort_keys=True))
        (rdir / "refs").mkdir(exist_ok=True)
        (rdir / "refs" / _safe_rel(rev).replace("/", "--")).write_text(sha)
    except OSError as exc:
        raise RigfitError(
            f"Cannot write the header cache {rdir}: {exc.strerror or exc}.",
            "Set RIGFIT_CACHE_DIR to a writable folder.",
        ) from None


def _cached_listing(ref: RemoteRef, rdir: Path, rev: str) -> tuple[str, dict[str, int | None]]:
    refp = rdir / "refs" / _safe_rel(rev).replace("/", "--")
    sha = refp.read_text().strip() if refp.is_file() else rev
    listing = rdir / "snapshots" / _safe_rel(sha) / ".rigfit-files.json"
    try:
        return sha, json.loads(listing.read_text())
    except (OSError, ValueError):
        raise NotCachedError(
            f"{ref.display}: not in rigfit's header cache, and rigfit is offline "
            "(--offline or HF_HUB_OFFLINE).",
            _near_hint(ref.repo) or "Run once without --offline to read its header from the Hub.",
        ) from None


def _hf_exception(exc: BaseException, ref: RemoteRef) -> RigfitError:
    """A huggingface_hub / httpx exception as one line."""
    name = type(exc).__name__
    what = f"Hugging Face repo {ref.repo!r}"
    resp = getattr(exc, "response", None)
    status = getattr(resp, "status_code", None)
    if name == "GatedRepoError":
        return http_error(403, what, "GatedRepo")
    if name == "RevisionNotFoundError":
        return RigfitError(
            f"{what} has no revision {ref.revision!r}.", "Use a branch, tag or commit of the repo."
        )
    if name == "RepositoryNotFoundError" or status == 404:
        near = _near_hint(ref.repo)
        login = " If it is private or gated, log in with `hf auth login` or set HF_TOKEN."
        return RigfitError(
            f"Unknown {what} (not found on {hf_endpoint()}).", (near or "Check the name.") + login
        )
    if name == "HFValidationError":
        return RigfitError(f"{ref.repo!r} is not a valid Hugging Face repo id.", "Write it as org/name.")
    if isinstance(status, int):
        return http_error(status, what)
    return network_error(exc, what)


def _near_hint(repo: str) -> str | None:
    """'Did you mean …?' from the catalog's hf_repo fields and the repos in the header cache."""
    names: set[str] = {a.hf_repo for a in load_models() if a.hf_repo}
    hf_dir = header_cache_dir() / "hf"
    if hf_dir.is_dir():
        names |= {d.name[len("models--") :].replace("--", "/", 1) for d in hf_dir.glob("models--*")}
    lower = {n.lower(): n for n in names if n.lower() != repo.lower()}
    near = difflib.get_close_matches(repo.lower(), list(lower), n=4, cutoff=0.6)
    if not near:
        tail = repo.split("/")[-1].lower()
        near = difflib.get_close_matches(tail, [n.split("/")[-1] for n in lower], n=4, cutoff=0.6)
        near = [n for n in lower if n.split("/")[-1] in near][:4]
    return ("Did you mean: " + ", ".join(lower[n] for n in near) + "?") if near else None


def _quant_re(quant: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(quant) + r"(?![A-Za-z0-9])", re.IGNORECASE)


def select_gguf(files: list[str], selector: str | None, repo: str) -> list[str]:
    """The remote files of one GGUF model among a repo's ``files``: every part of a split
    model, part 1 first. ``selector``: a file name, a quant ("Q4_K_M", "UD-Q4_K_XL") or None
    (the only model, else Q4_K_M as Ollama picks). Projector (mmproj) files are never picked."""
    ggufs = [f for f in files if f.lower().endswith(".gguf") and "mmproj" not in f.lower().rsplit("/", 1)[-1]]
    if not ggufs:
        raise RigfitError(
            f"Repo {repo!r} holds no GGUF file.", "Use hf:ORG/NAME for a safetensors checkpoint."
        )
    picked = _matching(ggufs, selector)
    models = sorted({_model_key(f) for f in picked})
    if not models:
        quants = sorted({_model_key(f).rsplit("/", 1)[-1] for f in ggufs})
        raise RigfitError(
            f"Repo {repo!r} has no GGUF file for {selector!r}.", "It has: " + ", ".join(quants[:12]) + "."
        )
    if len(models) > 1 and selector is None:
        raise AmbiguousNameError(
            "model", f"{repo} (no {DEFAULT_QUANT} file)", [f"{repo}:{m.rsplit('/', 1)[-1]}" for m in models]
        )
    if len(models) > 1:
        raise AmbiguousNameError("quant", f"{repo}:{selector}", models)
    return sorted(f for f in ggufs if _model_key(f) == models[0])


def _matching(ggufs: list[str], selector: str | None) -> list[str]:
    """GGUF files a selector names: a file name, else a quant as a whole token of the name
    (case-insensitive; "Q4_K_M" prefers plain files to Unsloth "UD-Q4_K_M" ones)."""
    if selector and selector.lower().endswith(".gguf"):
        base = selector.rsplit("/", 1)[-1]
        return [f for f in ggufs if f == selector or f.rsplit("/", 1)[-1] == base]
    quant = selector or DEFAULT_QUANT
    picked = [f for f in ggufs if _quant_re(quant).search(f)]
    plain = [f for f in picked if not re.search(r"UD-" + re.escape(quant), f, re.IGNORECASE)]
    if not quant.upper().startswith("UD-") and plain:
        picked = plain
    return picked if picked or selector else ggufs


def pick_local_gguf(snapshot: Path, ref: RemoteRef) -> Path | None:
    """The GGUF ``ref`` selects among the files of a local HF cache snapshot (first part of a
    split model), or None when the snapshot lacks it or any of its parts."""
    names = [str(p.relative_to(snapshot)) for p in snapshot.rglob("*.gguf")]
    try:
        parts = select_gguf(names, ref.selector, ref.repo)
    except RigfitError:
        return None
    paths = [snapshot / f for f in parts]
    return paths[0] if all(p.is_file() for p in paths) else None


def _model_key(f: str) -> str:
    """A GGUF file name with any ``-0000k-of-0000n`` split suffix removed."""
    folder, _, base = f.rpartition("/")
    m = _SPLIT_RE.match(base)
    base = m.group("prefix") + ".gguf" if m else base
    return f"{folder}/{base}" if folder else base


def fetch_hf(ref: RemoteRef, offline: bool = False) -> RemoteModel:
    """A Hub repo's header-only mirror: its GGUF model (all split parts) or, when it has no
    GGUF (or ``ref.selector`` names a safetensors file), its safetensors checkpoint."""
    transfer = Transfer()
    offline = is_offline(offline)
    sha, files = _hf_listing(ref, offline, transfer)

    def http() -> _Http:
        from huggingface_hub.utils import build_hf_headers  # lazy: only remote names pay its import

        return _Http(f"Hugging Face repo {ref.repo!r}", transfer, build_hf_headers())

    def url(f: str) -> str:
        from huggingface_hub import hf_hub_url

        return hf_hub_url(ref.repo, f, revision=sha, endpoint=hf_endpoint())

    return _mirror_repo(
        ref, sha, files, offline, transfer, http, url, f"{hf_endpoint()}/{ref.repo}/blob/{sha}/config.json"
    )


def _mirror_repo(
    ref: RemoteRef,
    sha: str,
    files: dict[str, int | None],
    offline: bool,
    transfer: Transfer,
    http: Callable[[], _Http],
    url: Callable[[str], str],
    config_url: str,
) -> RemoteModel:
    """Mirror the headers a repo listing (``files``: name -> size) needs for ``ref``: its GGUF
    model's parts, else config.json, the safetensors index and each shard's header."""
    snap = _repo_dir(ref) / "snapshots" / _safe_rel(sha)
    names = sorted(files)
    what = f"{_HUB_NAMES[ref.kind]} repo {ref.repo!r}"
    has_gguf = any(f.lower().endswith(".gguf") for f in names)
    if has_gguf and not (ref.selector or "").endswith((".safetensors", ".json")):
        read = select_gguf(names, ref.selector, ref.repo)
        local = snap / _safe_rel(read[0])
    elif "config.json" in files:
        read = ["config.json", *_safetensors_files(names)]
        local = snap
    else:
        raise RigfitError(
            f"{what} holds no GGUF file and no config.json.",
            "rigfit reads GGUF repos and transformers checkpoints (config.json + safetensors).",
        )
    missing = [f for f in read if not (snap / _safe_rel(f)).is_file()]
    if local == snap and not missing and _missing_shards(snap):
        missing = ["model.safetensors.index.json"]  # re-read it: its shards follow it
    if missing and offline:
        raise NotCachedError(
            f"{ref.display}: {len(missing)} header(s) not in rigfit's cache, and rigfit is offline.",
            "Run once without --offline to read them from the network.",
        )
    if missing:
        client = http()
        for f in missing:
            _mirror_file(client, url(f), f, files.get(f), snap / _safe_rel(f), f"{ref.repo}/{f}", files)
    prefix = "modelscope:" if ref.kind == "modelscope" else ""
    where = f"{prefix}{ref.repo}" + ("" if local == snap else f"/{read[0]}")
    return RemoteModel(
        local=local,
        name=ref.display,
        files=tuple(read),
        revision=sha,
        transfer=transfer,
        config_url=config_url if local == snap else None,
        where=where,
    )


def _missing_shards(snap: Path) -> bool:
    index = snap / "model.safetensors.index.json"
    if not index.is_file():
        return False
    wm = json.loads(index.read_text(encoding="utf-8")).get("weight_map") or {}
    return any(not (snap / _safe_rel(str(f))).is_file() for f in set(wm.values()))


def _safetensors_files(names: list[str]) -> list[str]:
    """The checkpoint's weight files: the index's shards are read after the index (see
    _mirror_file), else ``model.safetensors``, else every top-level ``*.safetensors`` but
    Mistral's ``consolidated`` copies of the same weights."""
    if "model.safetensors.index.json" in names:
        return ["model.safetensors.index.json"]
    if "model.safetensors" in names:  # beside a consolidated.safetensors copy (Mistral repos)
        return ["model.safetensors"]
    return [
        f for f in names if "/" not in f and f.endswith(".safetensors") and not f.startswith("consolidated")
    ]


def _mirror_file(
    http: _Http, url: str, name: str, size: int | None, dest: Path, label: str, sizes: dict[str, int | None]
) -> None:
    """Mirror one remote file: a GGUF or safetensors header, or a whole small JSON file (and,
    for a safetensors index, every shard it names)."""
    if name.lower().endswith(".gguf"):
        split = _SPLIT_RE.match(name.rsplit("/", 1)[-1])
        first = LATER_PART_RANGE_BYTES if split and int(split.group("no")) > 1 else FIRST_RANGE_BYTES
        head, total = fetch_gguf_header(http, url, size, label, first)
        _write_mirror(dest, head, total, lambda p: read_gguf(p, follow_splits=False), label)
    elif name.endswith(".safetensors"):
        head, total = fetch_safetensors_header(http, url, size, label)
        _write_mirror(dest, head, total, read_safetensors_header, label)
    else:
        body, _ = http.get(url)
        _write_mirror(dest, body, len(body), _check_json, label)
        if name == "model.safetensors.index.json":
            _mirror_shards(http, url, dest, label, sizes)


def _mirror_shards(
    http: _Http, index_url: str, index: Path, label: str, sizes: dict[str, int | None]
) -> None:
    wm = json.loads(index.read_text(encoding="utf-8")).get("weight_map")
    if not isinstance(wm, dict):
        raise BadFileError(label, "safetensors index has no weight_map")
    base = index_url.rsplit("/", 1)[0]
    for shard in sorted(set(map(str, wm.values()))):
        dest = index.parent / _safe_rel(shard)
        if not dest.is_file():
            shard_label = f"{label.rsplit('/', 1)[0]}/{shard}"
            url = f"{base}/{_safe_rel(shard)}"
            _mirror_file(http, url, shard, sizes.get(shard), dest, shard_label, sizes)


def _check_json(p: Path) -> None:
    try:
        json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadFileError(p, f"not valid JSON ({exc})") from None


# --- Ollama registry -----------------------------------------------------------------------------


def ollama_base_url(host: str) -> str:
    """``$RIGFIT_OLLAMA_REGISTRY`` or ``https://HOST``."""
    return (os.environ.get("RIGFIT_OLLAMA_REGISTRY") or f"https://{host}").rstrip("/")


def fetch_ollama(ref: RemoteRef, offline: bool = False) -> RemoteModel:
    """An Ollama registry model's GGUF blob as a header-only mirror: GET the manifest
    ``/v2/{namespace}/{model}/manifests/{tag}``, then range-read the ``image.model`` blob."""
    transfer = Transfer()
    host, ns, model = ref.repo.split("/")
    tag = ref.revision or "latest"
    what = f"Ollama model {ns}/{model}:{tag} on {host}"
    mpath = header_cache_dir() / "ollama" / "manifests" / host / ns / model / tag
    base = ollama_base_url(host)
    http = None
    if is_offline(offline):
        if not mpath.is_file():
            raise NotCachedError(
                f"{what}: not found in the local Ollama store nor in rigfit's header cache (offline).",
                "See `rigfit models --local` for the models on this machine; without --offline and "
                "HF_HUB_OFFLINE rigfit reads its header from the registry.",
            )
        body = mpath.read_bytes()
    else:
        http = _Http(what, transfer, hub="ollama")
        body, _ = http.get(f"{base}/v2/{ns}/{model}/manifests/{tag}", accept=_MANIFEST_ACCEPT)
    try:
        layer = next(la for la in json.loads(body)["layers"] if la.get("mediaType") == _OLLAMA_MODEL_MEDIA)
        digest, size = str(layer["digest"]), int(layer["size"])
    except (ValueError, KeyError, TypeError, StopIteration):
        raise RigfitError(f"{what}: the registry manifest names no GGUF model layer.") from None
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise RigfitError(f"{what}: bad blob digest {digest[:80]!r} in the manifest.")
    blob = header_cache_dir() / "ollama" / "blobs" / digest.replace(":", "-")
    if not blob.is_file():
        if http is None:
            raise NotCachedError(
                f"{what}: its header is not in rigfit's cache, and rigfit is offline.",
                "Run once without --offline.",
            )
        head, total = fetch_gguf_header(http, f"{base}/v2/{ns}/{model}/blobs/{digest}", size, what)
        _write_mirror(blob, head, total, lambda p: read_gguf(p, follow_splits=False), what)
    if http is not None:
        mpath.parent.mkdir(parents=True, exist_ok=True)
        mpath.write_bytes(body)
    return RemoteModel(
        local=blob, name=ref.display, files=(digest,), revision=digest, transfer=transfer, where=ref.display
    )


# --- ModelScope ----------------------------------------------------------------------------------


def modelscope_endpoint() -> str:
    """``$RIGFIT_MODELSCOPE_ENDPOINT``, else ``https://$MODELSCOPE_DOMAIN`` (www.modelscope.cn)."""
    env = os.environ.get("RIGFIT_MODELSCOPE_ENDPOINT")
    return (env or f"https://{os.environ.get('MODELSCOPE_DOMAIN') or MODELSCOPE_DEFAULT_DOMAIN}").rstrip("/")


def _modelscope_listing(
    ref: RemoteRef, offline: bool, transfer: Transfer
) -> tuple[str, dict[str, int | None]]:
    """(content key, {file: size}) of a ModelScope repo: ``GET /api/v1/models/{repo}/repo/files
    ?Revision={rev}&Recursive=true`` -> ``{"Code": 200, "Data": {"Files": [{"Path", "Size",
    "Type", "Revision", "Sha256"}]}}`` (the API the modelscope SDK's ``get_model_files`` calls).
    The key hashes every file's path, size and digest, so a changed repo gets a new mirror."""
    rdir = _repo_dir(ref)
    rev = ref.revision or "master"
    if offline:
        return _cached_listing(ref, rdir, rev)
    what = f"ModelScope repo {ref.repo!r}"
    body, _ = _Http(what, transfer, hub="modelscope").get(
        f"{modelscope_endpoint()}/api/v1/models/{ref.repo}/repo/files?Revision={rev}&Recursive=true"
    )
    data: Any = None
    try:
        data = json.loads(body)
        entries = [f for f in data["Data"]["Files"] if f.get("Type") != "tree"]
        files: dict[str, int | None] = {str(f.get("Path") or f["Name"]): int(f["Size"]) for f in entries}
    except (ValueError, KeyError, TypeError, AttributeError):
        msg = data.get("Message") if isinstance(data, dict) else None
        raise RigfitError(
            f"{what}: unexpected file listing{f' ({msg})' if msg else ''}.",
            "Check the name (owner/name) and the revision.",
        ) from None
    import hashlib  # lazy: OpenSSL's bindings cost ~3 ms of every command's start-up

    digest = hashlib.sha256(
        json.dumps(
            sorted(
                (p, files[p], str(f.get("Sha256") or f.get("Revision") or ""))
                for p, f in zip(files, entries, strict=True)
            )
        ).encode()
    ).hexdigest()
    key = f"{_safe_rel(rev).replace('/', '--')}-{digest[:16]}"
    _save_listing(rdir, rev, key, files)
    return key, files


def fetch_modelscope(ref: RemoteRef, offline: bool = False) -> RemoteModel:
    """A ModelScope repo's header-only mirror (as :func:`fetch_hf`); files are read from
    ``/models/{repo}/resolve/{rev}/{file}`` with range requests. Public repos only."""
    transfer = Transfer()
    offline = is_offline(offline)
    key, files = _modelscope_listing(ref, offline, transfer)
    rev = ref.revision or "master"
    base = f"{modelscope_endpoint()}/models/{ref.repo}"
    return _mirror_repo(
        ref,
        key,
        files,
        offline,
        transfer,
        lambda: _Http(f"ModelScope repo {ref.repo!r}", transfer, hub="modelscope"),
        lambda f: f"{base}/resolve/{rev}/{f}",
        f"{base}/resolve/{rev}/config.json",
    )


def fetch_remote(ref: RemoteRef, offline: bool = False) -> RemoteModel:
    """The header-only mirror of a remote model (see the module docstring)."""
    if ref.kind == "ollama":
        return fetch_ollama(ref, offline)
    return fetch_modelscope(ref, offline) if ref.kind == "modelscope" else fetch_hf(ref, offline)
