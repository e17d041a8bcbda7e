"""Remote model reading against a real HTTP server on 127.0.0.1 (tests/fakehub.py) via HF_ENDPOINT.

Each remote model must plan exactly like the same file read locally, read only its headers
(bytes counted by the server), and every failure must be one line and exit code 2.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from gguf import GGMLQuantizationType, GGUFWriter

import synth
from fakehub import FakeHub, RemoteFile
from rigfit.cli import main
from rigfit.errors import AmbiguousNameError, RigfitError
from rigfit.formats.gguf import gguf_header_extent, read_gguf
from rigfit.formats.inspect import inspect_source
from rigfit.formats.remote import RemoteRef, parse_remote_ref, select_gguf
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import PlanSettings, make_plan

MIB = 1 << 20
SHA = "0123456789abcdef0123456789abcdef01234567"
MACHINE = "RTX 3060 12GB + 32GB DDR4-3200"


@pytest.fixture(scope="module")
def gemma() -> Path:
    from rigfit.formats.bundled import bundled_gemma_available, bundled_gemma_path

    if not bundled_gemma_available():
        pytest.skip("bundled Gemma package not installed")
    return bundled_gemma_path()


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A started FakeHub; rigfit and huggingface_hub pointed at it, cache in tmp_path."""
    import huggingface_hub.constants

    h = FakeHub()
    url = h.start()
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("RIGFIT_OLLAMA_REGISTRY", url)
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "no-ollama"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield h
    h.stop()


def _gguf_remote(path: Path) -> RemoteFile:
    """A GGUF served as its header bytes plus its true size (the rest reads as zeros)."""
    g = read_gguf(path, follow_splits=False)
    with open(path, "rb") as fh:
        return RemoteFile(fh.read(g.parts[0].data_offset), os.path.getsize(path))


def _plan_json(spec, path_as: str | None = None) -> dict:
    """The plan as JSON; the model's path written as ``path_as`` (what the remote plan writes)."""
    p = make_plan(spec, resolve_machine(MACHINE), PlanSettings(n_ctx=8192))
    text = json.dumps(p.to_json())
    if path_as and spec.path:
        text = text.replace(json.dumps(spec.path)[1:-1], path_as)
    return _strip(json.loads(text))


def _strip(d):
    """The plan JSON without the fields that name where the bytes were read from."""
    if isinstance(d, dict):
        return {k: _strip(v) for k, v in d.items() if k not in ("path", "sources")}
    if isinstance(d, list):
        return [_strip(v) for v in d]
    return d


def _same_spec(remote, local) -> None:
    assert remote.tensors == local.tensors
    assert remote.file_type == local.file_type and remote.tensors_exact == local.tensors_exact
    assert _plan_json(remote) == _plan_json(local, path_as=remote.path)


def cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def _one_error(code: int, err: str) -> str:
    """The error output: exit 2, an 'error:' line and at most one suggestion line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and lines and lines[0].startswith("error:") and len(lines) <= 2, (code, err)
    return " ".join(lines)


# --- names -------------------------------------------------------------------------------------


def test_parse_remote_ref():
    assert parse_remote_ref("unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M") == RemoteRef(
        "hf", "unsloth/Qwen3-30B-A3B-GGUF", None, "Q4_K_M"
    )
    assert parse_remote_ref("hf:meta-llama/Llama-3.1-8B-Instruct") == RemoteRef(
        "hf", "meta-llama/Llama-3.1-8B-Instruct"
    )
    assert parse_remote_ref("hf:org/m@v1.0:UD-Q4_K_XL") == RemoteRef("hf", "org/m", "v1.0", "UD-Q4_K_XL")
    assert parse_remote_ref("hf.co/org/m-GGUF:Q8_0") == RemoteRef("hf", "org/m-GGUF", None, "Q8_0")
    assert parse_remote_ref("https://huggingface.co/org/m/blob/main/m-Q8_0.gguf") == RemoteRef(
        "hf", "org/m", "main", "m-Q8_0.gguf"
    )
    assert parse_remote_ref("ollama:qwen3:30b") == RemoteRef(
        "ollama", "registry.ollama.ai/library/qwen3", "30b"
    )
    assert parse_remote_ref("ollama:me/tiny") == RemoteRef("ollama", "registry.ollama.ai/me/tiny", "latest")
    # not remote: catalog ids, bare org/name (catalog or HF cache first), paths
    for s in ("llama-3.1-8b", "meta-llama/Llama-3.1-8B-Instruct", "./m.gguf", "a/b/c.gguf"):
        assert parse_remote_ref(s) is None, s


def test_select_gguf():
    files = [
        "README.md",
        "m-Q4_K_M.gguf",
        "m-UD-Q4_K_XL.gguf",
        "m-Q8_0.gguf",
        "mmproj-F16.gguf",
        "BF16/m-BF16-00002-of-00002.gguf",
        "BF16/m-BF16-00001-of-00002.gguf",
    ]
    assert select_gguf(files, "q4_k_m", "r") == ["m-Q4_K_M.gguf"]
    assert select_gguf(files, None, "r") == ["m-Q4_K_M.gguf"]  # Ollama's default quant
    assert select_gguf(files, "UD-Q4_K_XL", "r") == ["m-UD-Q4_K_XL.gguf"]
    assert select_gguf(files, "BF16", "r") == [
        "BF16/m-BF16-00001-of-00002.gguf",
        "BF16/m-BF16-00002-of-00002.gguf",
    ]
    assert select_gguf(files, "m-Q8_0.gguf", "r") == ["m-Q8_0.gguf"]
    with pytest.raises(RigfitError, match="no GGUF file for 'Q2_K'"):
        select_gguf(files, "Q2_K", "r")
    with pytest.raises(AmbiguousNameError):
        select_gguf(["a-Q4_0.gguf", "b-Q4_0.gguf"], "Q4_0", "r")


def test_header_extent_grows_until_complete(tmp_path):
    m = synth.write_llama(tmp_path / "m.gguf", n_vocab=5000)
    data = m.path.read_bytes()
    g = read_gguf(m.path)
    for n in (0, 3, 8, 100, 4000, g.parts[0].data_offset - 100):
        off, need = gguf_header_extent(data[:n])
        assert off is None and need > n
    assert gguf_header_extent(data)[0] == g.parts[0].data_offset
    be = synth.write_llama(tmp_path / "be.gguf", big_endian=True)
    assert gguf_header_extent(be.path.read_bytes())[0] == read_gguf(be.path).parts[0].data_offset
    with pytest.raises(RigfitError, match="not a GGUF"):
        gguf_header_extent(b"PK\x03\x04" + bytes(100))


# --- models that plan like local files -----------------------------------------------------------


def test_gemma_gguf_plans_like_local_and_reads_under_8_mib(hub, gemma, capsys):
    hub.add_repo(
        "acme/gemma-3-270m-GGUF",
        {
            "gemma-3-270m-q4_k_m.gguf": _gguf_remote(gemma),
            "gemma-3-270m-Q8_0.gguf": b"unused",
            "README.md": b"hi",
        },
    )
    remote = load_model_source("acme/gemma-3-270m-GGUF:Q4_K_M")
    sent = hub.total_sent
    with capsys.disabled():
        print(
            f"\nGemma 3 270M Q4_K_M (262,144-token vocabulary): {sent:,} bytes ({sent / MIB:.2f} MiB) "
            f"in {len(hub.requests)} requests"
        )
    assert sent <= 8 * MIB
    assert remote.path == "gemma-3-270m-q4_k_m.gguf"  # never the header-only mirror
    _same_spec(remote, load_model_source(gemma))
    # second time: one listing call for the commit, no header bytes
    hub.reset_counts()
    load_model_source("acme/gemma-3-270m-GGUF:Q4_K_M")
    assert [r[1] for r in hub.requests] == ["/api/models/acme/gemma-3-270m-GGUF"]
    # offline: nothing at all
    hub.reset_counts()
    name = "acme/gemma-3-270m-GGUF:Q4_K_M"
    code, out, _ = cli(capsys, "plan", name, "--on", MACHINE, "--json", "--offline")
    assert code == 0 and hub.requests == []
    assert json.loads(out)["model"]["path"] == "gemma-3-270m-q4_k_m.gguf"
    code, out, _ = cli(capsys, "inspect", "acme/gemma-3-270m-GGUF:Q4_K_M", "--json", "--offline")
    local = json.loads(json.dumps(inspect_source(gemma)))
    got = json.loads(out)
    assert got.pop("schema") == "rigfit.inspect/1"  # the CLI's JSON envelope (inspect_source has none)
    assert got["path"] == "acme/gemma-3-270m-GGUF/gemma-3-270m-q4_k_m.gguf"
    assert got["gguf"]["parts"] == ["gemma-3-270m-q4_k_m.gguf"]
    assert _strip({**got, "gguf": {**got["gguf"], "parts": 0}}) == _strip(
        {**local, "gguf": {**local["gguf"], "parts": 0}}
    )


def _report(capsys, what: str, hub: FakeHub, total_bytes: int) -> None:
    """Print what a remote read cost (``pytest -s`` shows it)."""
    sent = hub.total_sent
    with capsys.disabled():
        print(
            f"\n{what}: {sent:,} bytes ({sent / MIB:.3f} MiB) of {total_bytes:,} "
            f"({100 * sent / total_bytes:.3f} %) in {len(hub.requests)} requests"
        )


def test_split_gguf_reads_every_part(hub, tmp_path, capsys):
    (tmp_path / "local").mkdir()
    m = synth.write_llama(tmp_path / "local" / "tiny-F16.gguf", n_layer=4, split_max_tensors=15)
    assert len(m.parts) >= 3
    hub.add_repo("acme/tiny-GGUF", {f"F16/{p.name}": _gguf_remote(p) for p in m.parts})
    remote = load_model_source("hf:acme/tiny-GGUF:F16")
    _report(capsys, f"split GGUF, {len(m.parts)} parts", hub, sum(p.stat().st_size for p in m.parts))
    heads = [p for _, p, _ in hub.requests if p.startswith("/cdn/")]
    assert len(heads) == len(m.parts) == len(set(heads))  # one range read per part
    assert remote.path == m.parts[0].name
    _same_spec(remote, load_model_source(m.path))


def _st_bytes(tensors: dict[str, tuple[str, list[int]]]) -> tuple[bytes, int]:
    """(8-byte length + JSON header, total file size) of a safetensors file."""
    size = {"F32": 4, "BF16": 2}
    header, off = {}, 0
    for name, (dt, shape) in tensors.items():
        n = size[dt]
        for d in shape:
            n *= d
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw, 8 + len(raw) + off


def test_safetensors_repo_plans_like_local_folder(hub, tmp_path, capsys):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 1000,
        "max_position_embeddings": 4096,
        "rope_theta": 500000.0,
        "torch_dtype": "bfloat16",
        "tie_word_embeddings": False,
    }
    shard1 = {"model.embed_tokens.weight": ("BF16", [1000, 256])}
    shard2 = {"lm_head.weight": ("BF16", [1000, 256]), "model.norm.weight": ("F32", [256])}
    for il in range(2):
        for t, shape in (
            ("self_attn.q_proj", [256, 256]),
            ("self_attn.k_proj", [128, 256]),
            ("self_attn.v_proj", [128, 256]),
            ("self_attn.o_proj", [256, 256]),
            ("mlp.gate_proj", [512, 256]),
            ("mlp.up_proj", [512, 256]),
            ("mlp.down_proj", [256, 512]),
        ):
            (shard1 if il == 0 else shard2)[f"model.layers.{il}.{t}.weight"] = ("BF16", shape)
        for n in ("input_layernorm", "post_attention_layernorm"):
            (shard1 if il == 0 else shard2)[f"model.layers.{il}.{n}.weight"] = ("F32", [256])
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    index = {"metadata": {}, "weight_map": {t: names[i] for i, sh in enumerate((shard1, shard2)) for t in sh}}
    local = tmp_path / "models--acme--tiny-llama" / "snapshots" / SHA
    local.mkdir(parents=True)
    files: dict[str, bytes | RemoteFile] = {
        "config.json": json.dumps(cfg).encode(),
        "model.safetensors.index.json": json.dumps(index).encode(),
        "tokenizer.json": b"{}" * 1000,
    }
    for name, sh in zip(names, (shard1, shard2), strict=True):
        head, size = _st_bytes(sh)
        files[name] = RemoteFile(head, size)
        with open(local / name, "wb") as fh:
            fh.write(head)
            fh.truncate(size)
    (local / "config.json").write_bytes(files["config.json"])  # type: ignore[arg-type]
    (local / "model.safetensors.index.json").write_bytes(files["model.safetensors.index.json"])  # type: ignore[arg-type]
    hub.add_repo("acme/tiny-llama", files)
    remote = load_model_source("hf:acme/tiny-llama")
    _report(
        capsys,
        "safetensors repo (config, index, 2 shards)",
        hub,
        sum(f.size for f in hub.repos["acme/tiny-llama"].files.values()),
    )
    assert "/tokenizer.json" not in {p for _, p, _ in hub.requests}
    for name in names:  # one range read per shard: its header, or the first 64 KiB if that is more
        f = hub.repos["acme/tiny-llama"].files[name]
        sent = sum(v for k, v in hub.sent.items() if k.endswith(name))
        assert sent == min(f.size, max(len(f.head), 1 << 16))
    assert remote.arch.sources == (f"Hugging Face config {hub.url}/acme/tiny-llama/blob/{SHA}/config.json",)
    _same_spec(remote, load_model_source(local))
    got, want = inspect_source("hf:acme/tiny-llama"), inspect_source(local)
    assert got["path"] == "acme/tiny-llama" and got["tensor_bytes"] == want["tensor_bytes"]


def test_ollama_registry_blob(hub, tmp_path, capsys):
    m = synth.write_llama(tmp_path / "tiny.gguf", n_vocab=3000)
    digest = hub.add_ollama("library/tiny:q8", RemoteFile(m.path.read_bytes(), m.path.stat().st_size))
    local_blob = tmp_path / digest.replace(":", "-")  # as the local Ollama store names it
    local_blob.write_bytes(m.path.read_bytes())
    remote = load_model_source("ollama:tiny:q8")
    _report(capsys, "Ollama registry model (manifest + blob)", hub, m.path.stat().st_size)
    paths = [p for _, p, _ in hub.requests]
    assert paths[0] == "/v2/library/tiny/manifests/q8"
    assert paths[1] == f"/v2/library/tiny/blobs/{digest}"
    assert remote.path == "ollama:registry.ollama.ai/library/tiny:q8"
    _same_spec(remote, load_model_source(local_blob))
    with pytest.raises(RigfitError, match="not found"):
        load_model_source("ollama:nothing")


def _write_header_only(path: Path, n_layer: int, n_embd: int, n_ff: int, n_vocab: int) -> int:
    """A Llama-shaped F16 GGUF whose tensor data is a hole: only the header is written; returns
    the declared file size [B] (the file is truncated to it, sparse)."""
    w = GGUFWriter(str(path), "llama")
    for k, v in (
        ("context_length", 8192),
        ("embedding_length", n_embd),
        ("block_count", n_layer),
        ("feed_forward_length", n_ff),
        ("attention.head_count", n_embd // 128),
        ("attention.head_count_kv", 8),
    ):
        w.add_uint32(f"llama.{k}", v)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_uint32("general.file_type", 1)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok{i}" for i in range(n_vocab)])
    w.add_token_types([1] * n_vocab)
    w.add_token_merges([f"t{i} o{i}" for i in range(n_vocab)])
    shapes = [
        ("token_embd.weight", (n_vocab, n_embd)),
        ("output_norm.weight", (n_embd,)),
        ("output.weight", (n_vocab, n_embd)),
    ]
    kv = 8 * 128
    for il in range(n_layer):
        b = f"blk.{il}."
        shapes += [
            (b + "attn_norm.weight", (n_embd,)),
            (b + "attn_q.weight", (n_embd, n_embd)),
            (b + "attn_k.weight", (kv, n_embd)),
            (b + "attn_v.weight", (kv, n_embd)),
            (b + "attn_output.weight", (n_embd, n_embd)),
            (b + "ffn_norm.weight", (n_embd,)),
            (b + "ffn_gate.weight", (n_ff, n_embd)),
            (b + "ffn_up.weight", (n_ff, n_embd)),
            (b + "ffn_down.weight", (n_embd, n_ff)),
        ]
    total = 0
    for name, shape in shapes:
        n = 1
        for d in shape:
            n *= d
        f32 = len(shape) == 1
        nbytes = n * (4 if f32 else 2)
        qt = GGMLQuantizationType.F32 if f32 else GGMLQuantizationType.F16
        w.add_tensor_info(name, shape, "float32" if f32 else "float16", nbytes, raw_dtype=qt)
        total += nbytes + (-nbytes) % 32
    w.write_header_to_file(path)
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    with open(path, "r+b") as fh:
        header = fh.seek(0, 2)
        size = header + (-header) % 32 + total
        fh.truncate(size)
    return size


def test_20_gb_file_costs_under_1_percent(hub, tmp_path):
    path = tmp_path / "big-F16.gguf"
    size = _write_header_only(path, n_layer=32, n_embd=5120, n_ff=13824, n_vocab=152064)
    assert size > 20e9
    hub.add_repo("acme/big-GGUF", {"big-F16.gguf": _gguf_remote(path)})
    remote = load_model_source("acme/big-GGUF:F16")
    sent = hub.total_sent
    print(
        f"\n{size / 1e9:.1f} GB F16 file (152,064-token vocabulary with merges): {sent:,} bytes "
        f"({sent / MIB:.2f} MiB) = {100 * sent / size:.4f} % in {len(hub.requests)} requests"
    )
    assert sent <= 0.01 * size
    assert remote.weights_bytes > 20e9
    _same_spec(remote, load_model_source(path))


def test_server_that_ignores_range_reads_only_the_header(hub, tmp_path):
    path = tmp_path / "big-F16.gguf"
    size = _write_header_only(path, n_layer=2, n_embd=1024, n_ff=2048, n_vocab=1000)
    hub.add_repo("acme/big-GGUF", {"big-F16.gguf": RemoteFile(path.read_bytes()[:200_000], size)})
    hub.ignore_range = True
    remote = load_model_source("acme/big-GGUF:F16")
    assert remote.tensors == load_model_source(path).tensors
    assert hub.total_sent < 16 * MIB  # the client hung up after the header (plus socket buffers)


def test_hf_token_opens_gated_repo(hub, tmp_path, monkeypatch, capsys):
    m = synth.write_llama(tmp_path / "tiny-F16.gguf")
    hub.add_repo("acme/gated-GGUF", {"tiny-F16.gguf": _gguf_remote(m.path)}, token="hf_secret")
    code, _, err = cli(capsys, "plan", "acme/gated-GGUF:F16", "--on", MACHINE)
    msg = _one_error(code, err)
    assert "gated" in msg and "hf auth login" in msg and "HF_TOKEN" in msg
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")  # a token without access: 403
    code, _, err = cli(capsys, "plan", "acme/gated-GGUF:F16", "--on", MACHINE)
    assert "HTTP 403" in _one_error(code, err)
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert load_model_source("acme/gated-GGUF:F16").tensors_exact


# --- errors: one line, exit 2 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code_hdr", "expect"),
    [
        (401, None, "not authorised"),
        (403, "GatedRepo", "gated"),
        (429, None, "rate limited"),
        (500, None, "HTTP 500"),
    ],
)
def test_http_errors_are_one_line(hub, capsys, status, code_hdr, expect):
    hub.add_repo("acme/x-GGUF", {"x-Q4_0.gguf": b"GGUF"}, status=status, error_code=code_hdr)
    code, _, err = cli(capsys, "plan", "acme/x-GGUF:Q4_0", "--on", MACHINE)
    assert expect in _one_error(code, err)


def test_404_suggests_near_names(hub, capsys):
    code, _, err = cli(capsys, "plan", "hf:meta-llama/Llama-3.1-8B-Instrukt", "--on", MACHINE)
    msg = _one_error(code, err)
    assert "Unknown Hugging Face repo" in msg and "meta-llama/Llama-3.1-8B-Instruct" in msg


def test_rate_limit_on_header_read(hub, tmp_path, capsys):
    m = synth.write_llama(tmp_path / "tiny-F16.gguf")
    hub.add_repo("acme/t-GGUF", {"tiny-F16.gguf": _gguf_remote(m.path)})
    hub.repos["acme/t-GGUF"].files["tiny-F16.gguf"] = _gguf_remote(m.path)
    orig = hub._resolve

    def limited(h, *a, **kw):
        hub._send(h, 429, b"slow down")

    hub._resolve = limited  # type: ignore[method-assign]
    code, _, err = cli(capsys, "inspect", "acme/t-GGUF:F16")
    hub._resolve = orig  # type: ignore[method-assign]
    assert "rate limited" in _one_error(code, err)


def test_connection_refused(hub, capsys, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    code, _, err = cli(capsys, "plan", "acme/x-GGUF:Q4_0", "--on", MACHINE)
    assert "cannot reach" in _one_error(code, err)
    monkeypatch.setenv("RIGFIT_OLLAMA_REGISTRY", "http://127.0.0.1:9")
    code, _, err = cli(capsys, "inspect", "ollama:qwen3:30b")
    assert "cannot reach" in _one_error(code, err)


@pytest.mark.parametrize(
    ("head", "size", "expect"),
    [
        (b"PK\x03\x04" + bytes(60), 64, "not a GGUF file"),
        (b"GGUF" + struct.pack("<IQQ", 3, 1, 2) + b"\xff" * 100, 10_000, "corrupt GGUF header"),
        (None, None, "truncated"),
    ],
)
def test_bad_headers(hub, tmp_path, capsys, head, size, expect):
    if head is None:  # a real header cut short: the file ends inside the tensor table
        m = synth.write_llama(tmp_path / "t.gguf")
        off = read_gguf(m.path).parts[0].data_offset
        head = m.path.read_bytes()[: off - 40]
        size = len(head)
    hub.add_repo("acme/bad-GGUF", {"bad-Q4_0.gguf": RemoteFile(head, size)})
    code, _, err = cli(capsys, "plan", "acme/bad-GGUF:Q4_0", "--on", MACHINE)
    msg = _one_error(code, err)
    assert expect in msg and "acme/bad-GGUF/bad-Q4_0.gguf" in msg
    assert not list((tmp_path / "cache").rglob("bad-Q4_0.gguf"))  # nothing bad is cached


def test_offline_without_cache(hub, capsys):
    hub.add_repo("acme/x-GGUF", {"x-Q4_0.gguf": b"GGUF"})
    code, _, err = cli(capsys, "plan", "acme/x-GGUF:Q4_0", "--on", MACHINE, "--offline")
    assert "offline" in _one_error(code, err) and hub.requests == []
    code, _, err = cli(capsys, "inspect", "ollama:qwen3:30b", "--offline")
    assert "not found" in _one_error(code, err) and hub.requests == []


def test_bare_repo_name_goes_remote_only_when_online(hub, tmp_path, capsys, monkeypatch):
    m = synth.write_llama(tmp_path / "tiny-F16.gguf")
    hub.add_repo("acme/only-one", {"tiny-F16.gguf": _gguf_remote(m.path)})
    assert load_model_source("acme/only-one").tensors == load_model_source(m.path).tensors
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(RigfitError, match="Unknown model"):
        load_model_source("acme/never-seen")


def test_cli_subprocess_end_to_end(hub, gemma, tmp_path):
    """A fresh process: huggingface_hub reads HF_ENDPOINT / HF_HUB_OFFLINE at import."""
    hub.add_repo("acme/gemma-GGUF", {"gemma-3-270m-q4_k_m.gguf": _gguf_remote(gemma)})
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "RIGFIT_CACHE_DIR": str(tmp_path / "cache"),
    }
    args = [sys.executable, "-m", "rigfit", "plan", "--on", MACHINE, "--json", "--ctx", "8192"]
    remote = subprocess.run(
        [*args[:4], "acme/gemma-GGUF:Q4_K_M", *args[4:]], capture_output=True, text=True, env=env, timeout=120
    )
    assert remote.returncode == 0, remote.stderr
    local = subprocess.run([*args[:4], str(gemma), *args[4:]], capture_output=True, text=True, timeout=120)
    assert _strip(json.loads(remote.stdout)) == _strip(
        json.loads(local.stdout.replace(str(gemma), gemma.name))
    )


def test_repo_and_quant_in_the_local_hf_cache_needs_no_network(hub, tmp_path, monkeypatch):
    snap = tmp_path / "hf" / "models--acme--local-GGUF" / "snapshots" / "abc"
    snap.mkdir(parents=True)
    (snap.parent.parent / "refs").mkdir()
    (snap.parent.parent / "refs" / "main").write_text("abc")
    q8 = synth.write_llama(snap / "m-Q8_0.gguf", wtype="Q8_0")
    synth.write_llama(snap / "m-F16.gguf")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    spec = load_model_source("acme/local-GGUF:Q8_0")
    assert spec.path == str(q8.path) and spec.file_type == "Q8_0" and hub.requests == []
    with pytest.raises(RigfitError, match="Unknown Hugging Face repo"):  # Q4_K_M not there: ask the Hub
        load_model_source("acme/local-GGUF:Q4_K_M")


def test_modelscope_gguf(hub, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RIGFIT_MODELSCOPE_ENDPOINT", hub.url)
    m = synth.write_llama(tmp_path / "tiny-Q8_0.gguf", wtype="Q8_0")
    hub.add_repo("acme/tiny-GGUF", {"tiny-Q8_0.gguf": _gguf_remote(m.path), "configuration.json": b"{}"})
    remote = load_model_source("modelscope:acme/tiny-GGUF:Q8_0")
    paths = [p for _, p, _ in hub.requests]
    assert paths[0] == "/api/v1/models/acme/tiny-GGUF/repo/files"
    assert paths[1] == "/models/acme/tiny-GGUF/resolve/master/tiny-Q8_0.gguf"
    _same_spec(remote, load_model_source(m.path))
    hub.reset_counts()
    assert load_model_source("modelscope:acme/tiny-GGUF:Q8_0", offline=True).tensors == remote.tensors
    assert hub.requests == []
    code, _, err = cli(capsys, "inspect", "modelscope:acme/nothing:Q8_0")
    assert "Model not found" in _one_error(code, err)


def test_offline_falls_back_to_the_catalog_model_the_repo_names(hub):
    spec = load_model_source("unsloth/Qwen3-30B-A3B-GGUF:Q8_0", offline=True)
    assert (spec.origin, spec.arch.id, spec.file_type, spec.tensors_exact) == (
        "catalog",
        "qwen3-30b-a3b",
        "Q8_0",
        False,
    )
    spec = load_model_source("hf:meta-llama/Llama-3.1-8B-Instruct", offline=True)
    assert spec.origin == "catalog" and spec.arch.id == "llama-3.1-8b"
    assert hub.requests == []


def test_unknown_revision(hub, capsys):
    hub.add_repo("acme/x-GGUF", {"x-Q4_0.gguf": b"GGUF"})
    code, _, err = cli(capsys, "plan", "hf:acme/x-GGUF@nope:Q4_0", "--on", MACHINE)
    assert "has no revision 'nope'" in _one_error(code, err)


def test_http_proxy_is_honoured(hub, tmp_path, monkeypatch):
    """HTTP_PROXY routes every request (listing, resolve, CDN redirect) through the proxy: here
    the fake hub itself, for a Hub host name that does not resolve."""
    from huggingface_hub.utils import close_session

    m = synth.write_llama(tmp_path / "tiny-F16.gguf")
    hub.add_repo("acme/p-GGUF", {"tiny-F16.gguf": _gguf_remote(m.path)})
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.invalid")
    monkeypatch.setenv("HTTP_PROXY", hub.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    close_session()  # the shared client reads the proxy settings when it is created
    try:
        assert load_model_source("acme/p-GGUF:F16").tensors == load_model_source(m.path).tensors
    finally:
        monkeypatch.delenv("HTTP_PROXY")
        close_session()
    assert any(p.startswith("/cdn/acme/p-GGUF/") for _, p, _ in hub.requests)


def test_invalid_repo_id(hub, capsys):
    code, _, err = cli(capsys, "inspect", "hf:acme/x--y")
    assert "not a valid Hugging Face repo id" in _one_error(code, err) and hub.requests == []
