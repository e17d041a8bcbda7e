"""A Hugging Face Hub stand-in on 127.0.0.1 for download tests (point ``HF_ENDPOINT`` at ``hub.url``).

Serves what ``rigfit run`` asks of the Hub:

* ``GET /api/models/{repo}[/revision/{rev}]`` (``?blobs=true``): ``sha`` and ``siblings`` with
  ``size`` and ``lfs.sha256`` — huggingface_hub's ``HfApi.model_info(files_metadata=True)``;
* ``HEAD`` / ``GET /{repo}/resolve/{rev}/{file}`` with ``X-Repo-Commit``, ``X-Linked-Etag`` and
  ``X-Linked-Size`` headers and ``Range`` requests (206 Partial Content).

Faults for tests: ``cut_after[file] = n`` sends the full Content-Length but closes the connection
after ``n`` bytes (``cuts[file]`` times, then serves normally); ``corrupt.add(file)`` flips a byte
in the middle of what is sent while the metadata keeps the true sha256. ``requests`` logs
(method, path, Range header) of every request.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class HubFile:
    path: Path
    size: int
    sha256: str


@dataclass
class FakeHub:
    repos: dict[str, dict[str, HubFile]] = field(default_factory=dict)
    cut_after: dict[str, int] = field(default_factory=dict)
    cuts: dict[str, int] = field(default_factory=dict)
    corrupt: set[str] = field(default_factory=set)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def add(self, repo: str, name: str, path: Path, sha256: str | None = None) -> HubFile:
        if sha256 is None:
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while block := fh.read(1 << 20):
                    h.update(block)
            sha256 = h.hexdigest()
        f = HubFile(Path(path), Path(path).stat().st_size, sha256)
        self.repos.setdefault(repo, {})[name] = f
        return f

    def start(self) -> FakeHub:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_HEAD(self) -> None:
                hub._handle(self, head=True)

            def do_GET(self) -> None:
                hub._handle(self, head=False)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def ranges(self, name: str) -> list[str | None]:
        """The Range headers of the GET requests for one file, in order."""
        return [r for m, p, r in self.requests if m == "GET" and p.endswith("/" + name)]

    # ---------------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, head: bool) -> None:
        path = unquote(urlparse(h.path).path)
        self.requests.append(("HEAD" if head else "GET", path, h.headers.get("Range")))
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "models"]:
            repo = "/".join(parts[2:4])
            if repo not in self.repos:  # what the Hub answers for a missing repo
                return self._status(h, 404, {"X-Error-Code": "RepoNotFound"})
            return self._json(h, self._info(repo))
        if len(parts) >= 5 and parts[2] == "resolve":
            repo, name = "/".join(parts[:2]), "/".join(parts[4:])
            f = self.repos.get(repo, {}).get(name)
            if f is None:
                return self._status(h, 404)
            return self._file(h, name, f, head)
        return self._status(h, 404)

    def _info(self, repo: str) -> dict:
        sib = [
            {
                "rfilename": n,
                "size": f.size,
                "blobId": f.sha256[:40],
                "lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134},
            }
            for n, f in self.repos[repo].items()
        ]
        return {"id": repo, "modelId": repo, "sha": COMMIT, "private": False, "siblings": sib}

    def _json(self, h: BaseHTTPRequestHandler, data: dict) -> None:
        body = json.dumps(data).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _status(self, h: BaseHTTPRequestHandler, code: int, headers: dict | None = None) -> None:
        h.send_response(code)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _file(self, h: BaseHTTPRequestHandler, name: str, f: HubFile, head: bool) -> None:
        start, end = 0, f.size - 1
        rng = h.headers.get("Range")
        if rng and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a or 0)
            end = min(int(b), f.size - 1) if b else f.size - 1
        n = end - start + 1
        h.send_response(206 if rng else 200)
        h.send_header("Content-Length", str(n))
        h.send_header("Accept-Ranges", "bytes")
        h.send_header("X-Repo-Commit", COMMIT)
        h.send_header("X-Linked-Etag", f'"{f.sha256}"')
        h.send_header("X-Linked-Size", str(f.size))
        h.send_header("ETag", f'"{f.sha256}"')
        if rng:
            h.send_header("Content-Range", f"bytes {start}-{end}/{f.size}")
        h.end_headers()
        if head:
            return
        limit = n
        if self.cuts.get(name, 0) > 0 and name in self.cut_after:
            self.cuts[name] -= 1
            limit = max(0, min(n, self.cut_after[name] - start))
        flip = f.size // 2 if name in self.corrupt else -1
        with open(f.path, "rb") as fh:
            fh.seek(start)
            pos, sent = start, 0
            while sent < limit:
                block = bytearray(fh.read(min(1 << 20, limit - sent)))
                if not block:
                    break
                if pos <= flip < pos + len(block):
                    block[flip - pos] ^= 0xFF
                h.wfile.write(block)
                pos += len(block)
                sent += len(block)
        if limit < n:  # a dropped connection: close without sending the rest
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
