"""A real HTTP server on 127.0.0.1 standing in for the Hugging Face Hub and an Ollama registry.

It answers what ``huggingface_hub`` 2.x and rigfit's remote reader send:

* ``GET /api/models/{repo}[/revision/{rev}]`` -> ``{"id", "sha", "siblings": [{"rfilename",
  "size", "lfs"}]}`` (``HfApi.model_info(files_metadata=True)``);
* ``HEAD|GET /{repo}/resolve/{rev}/{file}`` -> the file, with ``Range: bytes=a-b`` -> 206 and
  ``Content-Range``; headers ``X-Repo-Commit``, ``ETag``/``X-Linked-Etag``, ``X-Linked-Size``
  as the Hub sends them (``huggingface_hub.file_download.get_hf_file_metadata``). GGUF and
  safetensors files redirect (302) to ``/cdn/…`` first, like LFS files on the Hub;
* ``GET /v2/{ns}/{model}/manifests/{tag}`` and ``/v2/{ns}/{model}/blobs/{digest}`` (Ollama).

A file is its first bytes plus a declared size: the rest reads as zeros, so a "20 GB" file
costs its header; or (``add``, for download tests) a file on disk served whole, with its true
sha256 in the metadata and no CDN redirect. Download faults: ``cut_after[file] = n`` sends the
full Content-Length but closes the connection after ``n`` bytes (``cuts[file]`` times, then
serves normally); ``corrupt.add(file)`` flips the byte in the middle of the file as it is sent.
Errors are injected per repo (``status``, ``error_code``) or per token
(``token``: requests without ``Authorization: Bearer <token>`` get 401/403). ``sent`` counts
the response body bytes per path.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


@dataclass
class RemoteFile:
    head: bytes
    size: int
    path: Path | None = None  # served from this file (head unused)
    sha256: str | None = None  # the LFS sha256 the metadata reports (default: a fixed fake)
    redirect: bool = True  # GGUF/safetensors answer 302 to /cdn/… first, like LFS files on the Hub

    def read(self, start: int, end: int) -> bytes:
        """Bytes [start, end) (zeros past the stored head)."""
        end = min(end, self.size)
        if start >= end:
            return b""
        if self.path is not None:
            with open(self.path, "rb") as fh:
                fh.seek(start)
                return fh.read(end - start)
        part = self.head[start:end]
        return part + bytes(end - start - len(part))


@dataclass
class Repo:
    files: dict[str, RemoteFile]
    sha: str = "0123456789abcdef0123456789abcdef01234567"
    status: int | None = None  # answer every request with this status
    error_code: str | None = None  # X-Error-Code with it (GatedRepo, RepoNotFound …)
    token: str | None = None  # required bearer token (gated)


@dataclass
class FakeHub:
    repos: dict[str, Repo] = field(default_factory=dict)
    ollama: dict[str, tuple[bytes, RemoteFile]] = field(default_factory=dict)  # "ns/model:tag"
    sent: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, range
    status: int | None = None  # answer everything with this status (429 tests)
    ignore_range: bool = False  # answer ranged GETs with the whole file (200), as some servers do
    cut_after: dict[str, int] = field(default_factory=dict)
    cuts: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)

    def add_repo(self, repo: str, files: dict[str, bytes | RemoteFile], **kw: object) -> Repo:
        stored = {k: v if isinstance(v, RemoteFile) else RemoteFile(v, len(v)) for k, v in files.items()}
        r = Repo(stored, **kw)  # type: ignore[arg-type]
        self.repos[repo] = r
        return r

    def add(self, repo: str, name: str, path: Path, sha256: str | None = None) -> RemoteFile:
        """Serve the file at ``path`` as ``repo``/``name`` (sha256 computed unless given)."""
        if sha256 is None:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            sha256 = h.hexdigest()
        f = RemoteFile(b"", Path(path).stat().st_size, Path(path), sha256, redirect=False)
        self.repos.setdefault(repo, Repo({})).files[name] = f
        return f

    def ranges(self, name: str) -> list[str | None]:
        """The Range headers of the GET requests for one file, in order."""
        return [r for m, p, r in self.requests if m == "GET" and p.endswith("/" + name)]

    def add_ollama(self, name: str, blob: RemoteFile) -> str:
        """Register ``ns/model:tag`` whose model layer is ``blob``; returns its digest."""
        digest = "sha256:" + hashlib.sha256(blob.head + str(blob.size).encode()).hexdigest()
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "digest": "sha256:" + "0" * 64,
                "size": 2,
            },
            "layers": [
                {"mediaType": "application/vnd.ollama.image.model", "digest": digest, "size": blob.size},
                {
                    "mediaType": "application/vnd.ollama.image.template",
                    "digest": "sha256:" + "1" * 64,
                    "size": 10,
                },
            ],
        }
        self.ollama[name] = (json.dumps(manifest).encode(), blob)
        return digest

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    def reset_counts(self) -> None:
        self.sent.clear()
        self.requests.clear()

    # --- server ----------------------------------------------------------------------------
    def start(self) -> str:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a: object) -> None:
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- routes ----------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlparse(h.path).path)
        self.requests.append((h.command, path, h.headers.get("Range")))
        if self.status:
            return self._send(h, self.status, b'{"error": "injected"}', head=head)
        m = re.match(r"^/api/v1/models/([^/]+/[^/]+)/repo/files$", path)
        if m:
            return self._ms_files(h, m.group(1), head)
        m = re.match(r"^/models/([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m:
            return self._resolve(h, m.group(1), "main", m.group(3), head, cdn=True)
        m = re.match(r"^/api/models/([^/]+/[^/]+?)(?:/revision/(.+))?$", path)
        if m:
            return self._api(h, m.group(1), m.group(2), head)
        m = re.match(r"^/(?:cdn/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$", path)
        if m:
            return self._resolve(h, m.group(1), m.group(2), m.group(3), head, cdn=path.startswith("/cdn/"))
        m = re.match(r"^/v2/([^/]+)/([^/]+)/(manifests|blobs)/(.+)$", path)
        if m:
            return self._ollama(h, *m.groups(), head=head)
        self._send(h, 404, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)

    def _denied(self, h: BaseHTTPRequestHandler, repo: Repo | None, head: bool, files: bool = False) -> bool:
        """Answer an error if the request may not proceed. Gated repos (``token``) show their
        listing to anyone and their files only with the token, as the Hub does: 401 without a
        token, 403 with another one, both with ``X-Error-Code: GatedRepo``."""
        if repo is None:
            self._send(h, 401, b'{"error": "Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)
            return True
        if repo.status:
            hdr = {"X-Error-Code": repo.error_code} if repo.error_code else {}
            self._send(h, repo.status, b'{"error": "injected"}', hdr, head)
            return True
        auth = h.headers.get("Authorization")
        if files and repo.token and auth != f"Bearer {repo.token}":
            self._send(
                h, 401 if auth is None else 403, b'{"error": "gated"}', {"X-Error-Code": "GatedRepo"}, head
            )
            return True
        return False

    def _api(self, h: BaseHTTPRequestHandler, name: str, rev: str | None, head: bool) -> None:
        repo = self.repos.get(name)
        if self._denied(h, repo, head):
            return
        assert repo is not None
        if rev not in (None, "main", repo.sha):
            self._send(h, 404, b'{"error": "Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"}, head)
            return
        siblings = []
        for fname, f in sorted(repo.files.items()):
            s: dict[str, object] = {"rfilename": fname, "size": f.size, "blobId": "b" * 40}
            if f.sha256 or fname.endswith((".gguf", ".safetensors")):
                s["lfs"] = {"size": f.size, "sha256": f.sha256 or "c" * 64, "pointerSize": 135}
            siblings.append(s)
        body = json.dumps(
            {"id": name, "modelId": name, "sha": repo.sha, "private": False, "siblings": siblings}
        ).encode()
        self._send(h, 200, body, {"Content-Type": "application/json"}, head)

    def _ms_files(self, h: BaseHTTPRequestHandler, name: str, head: bool) -> None:
        """ModelScope's listing: HTTP 200 and ``Code`` 200, or ``Code`` 404 for unknown repos."""
        repo = self.repos.get(name)
        if repo is None:
            body = {"Code": 10010205001, "Message": "Model not found", "Success": False}
        elif repo.status:
            return self._send(h, repo.status, b'{"Message": "injected"}', head=head)
        else:
            files = [
                {
                    "Name": f.rsplit("/", 1)[-1],
                    "Path": f,
                    "Size": rf.size,
                    "Type": "blob",
                    "Revision": repo.sha,
                    "Sha256": hashlib.sha256(rf.head).hexdigest(),
                }
                for f, rf in sorted(repo.files.items())
            ]
            body = {"Code": 200, "Data": {"Files": files}, "Success": True}
        self._send(h, 200, json.dumps(body).encode(), {"Content-Type": "application/json"}, head)

    def _resolve(
        self, h: BaseHTTPRequestHandler, name: str, rev: str, fname: str, head: bool, cdn: bool
    ) -> None:
        repo = self.repos.get(name)
        if not cdn and self._denied(h, repo, head, files=True):
            return
        assert repo is not None
        f = repo.files.get(fname)
        if f is None or rev not in ("main", repo.sha):
            self._send(h, 404, b"Entry not found", {"X-Error-Code": "EntryNotFound"}, head)
            return
        meta = {
            "X-Repo-Commit": repo.sha,
            "ETag": f'"{f.sha256 or "e" * 40}"',
            "X-Linked-Etag": f'"{f.sha256 or "c" * 64}"',
            "X-Linked-Size": str(f.size),
        }
        if not cdn and f.redirect and fname.endswith((".gguf", ".safetensors")):  # LFS: redirect to the CDN
            self._send(h, 302, b"", {**meta, "Location": f"/cdn/{name}/resolve/{repo.sha}/{fname}"}, head)
            return
        self._ranged(h, f, meta, head)

    def _ollama(
        self, h: BaseHTTPRequestHandler, ns: str, model: str, kind: str, ref: str, head: bool
    ) -> None:
        if kind == "manifests":
            entry = self.ollama.get(f"{ns}/{model}:{ref}")
            if entry is None:
                self._send(h, 404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', head=head)
                return
            ctype = "application/vnd.docker.distribution.manifest.v2+json"
            self._send(h, 200, entry[0], {"Content-Type": ctype}, head)
            return
        for manifest, blob in self.ollama.values():
            if ref in manifest.decode():
                return self._ranged(h, blob, {}, head)
        self._send(h, 404, b'{"errors":[{"code":"BLOB_UNKNOWN"}]}', head=head)

    def _ranged(self, h: BaseHTTPRequestHandler, f: RemoteFile, meta: dict[str, str], head: bool) -> None:
        rng = None if self.ignore_range else h.headers.get("Range")
        m = re.match(r"^bytes=(\d+)-(\d*)$", rng or "")
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) + 1 if m.group(2) else f.size, f.size)
            if start >= f.size:
                self._send(h, 416, b"", {"Content-Range": f"bytes */{f.size}"}, head)
                return
            hdr = {**meta, "Content-Range": f"bytes {start}-{end - 1}/{f.size}", "Accept-Ranges": "bytes"}
            self._stream(h, f, hdr, head, 206, start, end)
        else:
            self._stream(h, f, meta, head)

    def _stream(
        self,
        h: BaseHTTPRequestHandler,
        f: RemoteFile,
        meta: dict[str, str],
        head: bool,
        status: int = 200,
        start: int = 0,
        end: int | None = None,
    ) -> None:
        """Bytes [start, end) of the file (default: all, 200), 1 MiB at a time, until the client
        hangs up, with the injected faults (``cut_after``/``cuts``, ``corrupt``)."""
        end = f.size if end is None else end
        h.send_response(status)
        for k, v in meta.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(end - start))
        h.end_headers()
        if head:
            return
        path = urlparse(h.path).path
        name = next((n for n in (*self.cut_after, *self.corrupt) if path.endswith("/" + n)), "")
        limit = end
        if self.cuts.get(name, 0) > 0 and name in self.cut_after:
            self.cuts[name] -= 1
            limit = max(start, min(end, self.cut_after[name]))
        flip = f.size // 2 if name in self.corrupt else -1
        for pos in range(start, limit, 1 << 20):
            chunk = bytearray(f.read(pos, min(limit, pos + (1 << 20))))
            if pos <= flip < pos + len(chunk):
                chunk[flip - pos] ^= 0xFF
            # counted before the write: the client can read the bytes and the test check the count
            # before this thread runs again (a busy box); taken back if the write fails
            self.sent[path] = self.sent.get(path, 0) + len(chunk)
            try:
                h.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.sent[path] -= len(chunk)
                h.close_connection = True
                return
        if limit < end:  # a dropped connection: close without sending the rest
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        head: bool = False,
    ) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head:
            path = urlparse(h.path).path
            self.sent[path] = self.sent.get(path, 0) + len(body)  # before the write, as in _stream
            try:
                h.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                self.sent[path] -= len(body)
                return
