"""Model references and downloads of ``rigfit run`` against a fake Hugging Face Hub on 127.0.0.1.

A small synthetic GGUF (a few MB) stands in for a model; the hub drops connections, corrupts bytes
or reports sizes on request (tests/fakehub.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import synth
from fakehub import FakeHub
from rigfit.errors import RigfitError
from rigfit.run import fetch

REPO = "org/tiny-GGUF"
NAME = "tiny-Q4_K_M.gguf"


@pytest.fixture(scope="module")
def gguf(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("src")
    return synth.write_llama(d / NAME, n_embd=256, n_ff=512, n_head=4, n_head_kv=2).path


@pytest.fixture
def hub(gguf, tmp_path, monkeypatch):
    """The fake hub serving one repo, with HF_ENDPOINT and an empty HF cache pointed at it."""
    import huggingface_hub.constants

    h = FakeHub()
    h.add(REPO, NAME, gguf)
    h.add(REPO, "README.md", gguf.parent / NAME)  # a non-GGUF sibling the quant match must skip
    h.start()
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("LMSTUDIO_MODELS", str(tmp_path / "no-lmstudio"))
    yield h
    h.stop()


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_parse_and_match() -> None:
    assert fetch.parse_repo_ref("org/repo:Q4_K_M") == ("org/repo", "Q4_K_M", None)
    assert fetch.parse_repo_ref("hf.co/org/repo/sub/x-Q8_0.gguf") == ("org/repo", None, "sub/x-Q8_0.gguf")
    assert fetch.parse_repo_ref("llama-3.1-8b") is None
    for path in ("./nope.gguf", "models/x.gguf", "/abs/x.gguf", "~/x.gguf", "-org/repo:Q4_K_M"):
        assert fetch.parse_repo_ref(path) is None, path
    assert fetch.quant_matches("Qwen3-8B-Q4_K_M.gguf", "q4_k_m")
    assert not fetch.quant_matches("Qwen3-8B-Q4_K_M.gguf", "Q4_K")
    assert fetch.quant_matches("Qwen3-8B-Q4_K.gguf", "Q4_K")
    names = ["m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf", "m-Q8_0.gguf"]
    assert fetch.pick_file(names, "Q4_K_M", "r") == names[0]
    assert fetch.split_siblings(names[0], names) == names[:2]
    with pytest.raises(RigfitError, match="Available: Q4_K_M, Q8_0"):
        fetch.pick_file(names, "Q5_K_M", "r")


def test_remote_metadata_header_and_download(hub, gguf) -> None:
    model = fetch.resolve_remote(f"{REPO}:Q4_K_M")
    [f] = model.remote
    assert (f.filename, f.size_bytes, f.sha256) == (NAME, gguf.stat().st_size, _sha(gguf))
    assert model.needs_download and model.download_bytes == f.size_bytes
    with fetch.temp_header_dir() as tmp:
        head = fetch.fetch_headers(model, tmp)
        from rigfit.formats.source import load_model_source

        assert load_model_source(str(head)).arch.n_layer == 4  # planned from the header alone
    assert fetch.download(model) == model.path
    assert _sha(model.path) == f.sha256 and model.path.is_symlink()
    # the next run finds it in the HF cache without asking the hub
    n = len(hub.requests)
    local = fetch.resolve_local(f"{REPO}:Q4_K_M")
    assert local is not None and local.source == "hf-cache" and local.path == model.path
    assert len(hub.requests) == n


def test_interrupted_download_resumes(hub, gguf) -> None:
    model = fetch.resolve_remote(f"{REPO}/{NAME}")
    size = model.remote[0].size_bytes
    hub.cut_after[NAME] = size // 3
    hub.cuts[NAME] = 5  # the connection drops every time: the first run gives up
    with pytest.raises(fetch.FetchError, match="resumes where it stopped"):
        fetch.download(model, retries=0)
    part = fetch._partial(model.remote[0])
    assert part.stat().st_size == size // 3
    hub.cuts[NAME] = 0
    fetch.download(model)  # a new run resumes from the partial file
    assert hub.ranges(NAME)[-1] == f"bytes={size // 3}-"
    assert _sha(model.path) == _sha(gguf) and not part.exists()


def test_dropped_connection_is_retried_with_range(hub, gguf) -> None:
    model = fetch.resolve_remote(f"{REPO}:Q4_K_M")
    size = model.remote[0].size_bytes
    hub.cut_after[NAME] = size // 2
    hub.cuts[NAME] = 1
    fetch.download(model)
    assert hub.ranges(NAME) == [None, f"bytes={size // 2}-"]
    assert _sha(model.path) == _sha(gguf)


def test_corrupted_download_is_detected_and_removed(hub) -> None:
    model = fetch.resolve_remote(f"{REPO}:Q4_K_M")
    hub.corrupt.add(NAME)
    with pytest.raises(fetch.FetchError, match="corrupted"):
        fetch.download(model)
    f = model.remote[0]
    assert not fetch.blob_path(f).exists() and not fetch._partial(f).exists() and not model.path.exists()
    hub.corrupt.clear()
    fetch.download(model)
    assert _sha(model.path) == f.sha256


def test_no_disk_space_stops_before_downloading(hub, monkeypatch, capsys) -> None:
    from rigfit.cli import main

    monkeypatch.setattr(fetch, "disk_free_bytes", lambda path: 1000)
    with pytest.raises(SystemExit) as exc:
        main(["run", f"{REPO}:Q4_K_M", "--engine-bin", "bundled", "--no-store"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: Not enough disk space to download tiny-Q4_K_M.gguf")
    assert "1000" not in err[0] and "GB" in err[0]
    assert not any(m == "GET" and "/resolve/" in p for m, p, _ in hub.requests)  # not even the header


def test_dry_run_json_names_the_download(hub, capsys) -> None:
    from rigfit.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["run", f"{REPO}:Q4_K_M", "--dry-run", "--json", "--on", "Ryzen 7 5800X + 32GB"])
    assert exc.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "rigfit.run/1" and out["plan"]["fit"] == "fits"
    assert out["download"]["needs_download"] and out["download"]["files"][0]["file"] == NAME
    cmd = out["command"]
    assert cmd[cmd.index("-c") + 1] == "4096" and cmd[cmd.index("-m") + 1] == out["download"]["path"]
    assert not any(p.endswith(NAME) and r is None for m, p, r in hub.requests)  # header only, no download


def test_unknown_repo_and_quant_are_one_line_errors(hub, capsys) -> None:
    from rigfit.cli import main

    for args, text in (
        (["run", "org/missing:Q4_K_M", "--dry-run"], "No Hugging Face repo org/missing"),
        (["run", "./nope.gguf", "--dry-run"], "nope.gguf"),
        (["run", f"{REPO}:Q8_0", "--dry-run"], "has no GGUF file of type Q8_0"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        assert text in capsys.readouterr().err


def test_lmstudio_and_local_paths(tmp_path, gguf, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    lm = tmp_path / "lms"
    (lm / REPO).mkdir(parents=True)
    (lm / REPO / NAME).write_bytes(gguf.read_bytes())
    monkeypatch.setenv("LMSTUDIO_MODELS", str(lm))
    found = fetch.resolve_local(f"{REPO}:Q4_K_M")
    assert found is not None and found.source == "lmstudio" and found.path == lm / REPO / NAME
    assert fetch.resolve_local(str(gguf)).path == gguf.resolve()
    assert fetch.resolve_local(str(gguf.parent)).path == gguf.resolve()
