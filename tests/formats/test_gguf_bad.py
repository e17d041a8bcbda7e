"""Bad GGUF input: one clean BadFileError naming the file, never a crash, hang or huge allocation."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import synth
from clirun import run_cli
from rigfit.errors import BadFileError
from rigfit.formats.gguf import read_gguf
from rigfit.formats.gguf_arch import model_from_gguf


def _s(b: str | bytes) -> bytes:
    b = b.encode() if isinstance(b, str) else b
    return struct.pack("<Q", len(b)) + b


def header(
    kvs: list[bytes],
    tensors: list[bytes],
    version: int = 3,
    n_kv: int | None = None,
    n_t: int | None = None,
    pad_data: int = 64,
) -> bytes:
    out = b"GGUF" + struct.pack(
        "<IQQ", version, len(tensors) if n_t is None else n_t, len(kvs) if n_kv is None else n_kv
    )
    out += b"".join(kvs) + b"".join(tensors)
    out += b"\0" * ((-len(out)) % 32) + b"\0" * pad_data
    return out


def kv_u32(key: str, v: int) -> bytes:
    return _s(key) + struct.pack("<II", 4, v)


def kv_str(key: str, v: str | bytes) -> bytes:
    return _s(key) + struct.pack("<I", 8) + _s(v)


def tinfo(name: str, shape: tuple[int, ...], ttype: int = 0, offset: int = 0) -> bytes:
    return (
        _s(name)
        + struct.pack("<I", len(shape))
        + struct.pack(f"<{len(shape)}Q", *shape)
        + struct.pack("<IQ", ttype, offset)
    )


def _bad(tmp_path: Path, data: bytes, match: str) -> BadFileError:
    p = tmp_path / "bad.gguf"
    p.write_bytes(data)
    t = time.perf_counter()
    with pytest.raises(BadFileError, match=match) as ei:
        read_gguf(p)
    assert time.perf_counter() - t < 10.0
    assert str(p) in str(ei.value)
    return ei.value


GOOD_KV = [kv_str("general.architecture", "llama")]


def test_valid_minimal(tmp_path):
    p = tmp_path / "ok.gguf"
    p.write_bytes(header(GOOD_KV, [tinfo("a", (4, 4), 0, 0)]))
    g = read_gguf(p)
    assert g.tensors[0].n_bytes == 64


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "empty file"),
        (b"GGU", "truncated"),
        (b"PK\x03\x04" + b"\0" * 40, "wrong magic|not a GGUF"),
        (b"ggjt" + b"\0" * 40, "old GGML"),
        (b"GGUF" + struct.pack("<IQQ", 1, 0, 0) + b"\0" * 8, "version 1"),
        (b"GGUF" + struct.pack("<IQQ", 7, 0, 0) + b"\0" * 8, "unsupported GGUF version 7"),
    ],
)
def test_magic_and_version(tmp_path, data, match):
    _bad(tmp_path, data, match)


def test_absurd_counts(tmp_path):
    _bad(tmp_path, header(GOOD_KV, [], n_kv=2**60), "absurd metadata count")
    _bad(tmp_path, header(GOOD_KV, [], n_t=2**62), "absurd tensor count")


def test_absurd_array_length(tmp_path):
    arr = _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2**60)
    _bad(tmp_path, header([*GOOD_KV, arr], []), r"claims 1,152,921,504,606,846,976 elements")
    arr = _s("x.scores") + struct.pack("<IIQ", 9, 6, 2**40)
    _bad(tmp_path, header([*GOOD_KV, arr], []), "claims")


def test_string_longer_than_file(tmp_path):
    kv = _s("general.name") + struct.pack("<IQ", 8, 2**62) + b"abc"
    _bad(tmp_path, header([*GOOD_KV, kv], []), "needs 4,611,686,018,427,387,904 bytes")
    _bad(
        tmp_path,
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40) + b"k" * 30,
        "at most 65,535",
    )


def test_bad_values_and_keys(tmp_path):
    _bad(
        tmp_path, header([*GOOD_KV, _s("k") + struct.pack("<I", 99) + b"\0" * 8], []), "unknown value type 99"
    )
    nested = _s("k") + struct.pack("<IIQ", 9, 9, 1)
    _bad(tmp_path, header([*GOOD_KV, nested], []), "nested array")
    _bad(tmp_path, header([*GOOD_KV, kv_u32("general.architecture", 1)], []), "duplicate metadata key")
    _bad(tmp_path, header([*GOOD_KV, kv_u32("", 1)], []), "empty key")
    _bad(tmp_path, header([*GOOD_KV, kv_u32("general.alignment", 24)], []), "not a power of two")
    _bad(tmp_path, header([*GOOD_KV, kv_str("general.alignment", "32")], []), "must be u32")


def test_bad_tensors(tmp_path):
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (4,), 1234)]), "unknown GGML type 1234")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (1, 1, 1, 1, 1))]), "5 dimensions")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (4,)), tinfo("a", (4,), 0, 32)]), "duplicate tensor name")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (33,), 8)]), "not a multiple of the Q8_0 block size 32")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (4,), 0, 7)]), "not a multiple of the alignment")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (2**20, 2**20))]), "ends past the end of the file")
    _bad(tmp_path, header(GOOD_KV, [tinfo("a", (2**62, 2**62))]), "absurd element count|past the end")


def test_truncated_everywhere(tmp_path):
    """Every prefix of a real header is rejected cleanly (no IndexError/struct.error/hang)."""
    m = synth.write_llama(tmp_path / "l.gguf", n_layer=1, n_vocab=300)
    data = m.path.read_bytes()
    data_offset = read_gguf(m.path).parts[0].data_offset
    p = tmp_path / "t.gguf"
    for cut in list(range(0, 200)) + list(range(200, data_offset + 64, 97)) + [len(data) - 1]:
        p.write_bytes(data[:cut])
        with pytest.raises(BadFileError):
            read_gguf(p)


def test_not_a_model_and_missing(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(header([kv_u32("a.b", 1)], []))
    read_gguf(p)  # a valid container ...
    with pytest.raises(BadFileError, match=r"general\.architecture"):
        model_from_gguf(p)  # ... but not a model
    with pytest.raises(BadFileError, match="no such file"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(BadFileError, match="directory"):
        read_gguf(tmp_path)


def test_missing_required_arch_keys(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(header(GOOD_KV, []))
    with pytest.raises(BadFileError, match=r"llama\.block_count"):
        model_from_gguf(p)
    p.write_bytes(
        header([*GOOD_KV, kv_u32("llama.block_count", 100000), kv_u32("llama.embedding_length", 8)], [])
    )
    with pytest.raises(BadFileError, match="block_count"):
        model_from_gguf(p)


def test_cli_bad_file_exit_code_2(tmp_path):
    p = tmp_path / "bad.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 2**60))
    out = run_cli("inspect", str(p))
    assert out.exit_code == 2
    assert "Traceback" not in out.stderr
    assert "absurd metadata count" in out.stderr and "bad.gguf" in out.stderr


# --- property-based: mutate real headers -------------------------------------------------------

_BASE: dict[str, bytes] = {}


def _base(kind: str, tmp: Path) -> bytes:
    if kind not in _BASE:
        writer = {
            "llama": synth.write_llama,
            "mla": synth.write_deepseek2_mla,
            "mamba2": synth.write_mamba2,
            "moe": synth.write_moe,
        }[kind]
        m = writer(tmp / f"{kind}.gguf", n_layer=2, n_vocab=300)
        raw = m.path.read_bytes()
        off = read_gguf(m.path).parts[0].data_offset
        _BASE[kind] = raw[: off + 4096]  # header + a little data (tensors past it read as truncated)
    return _BASE[kind]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["llama", "mla", "mamba2", "moe"]),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8),
    u64=st.one_of(
        st.none(),
        st.tuples(
            st.floats(0, 1, exclude_max=True), st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**60, 2**64 - 1])
        ),
    ),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_mutated_headers_never_crash(tmp_path, kind, edits, u64, cut):
    data = bytearray(_base(kind, tmp_path))
    hdr = len(data) - 4096
    for pos, val in edits:
        data[int(pos * hdr)] = val
    if u64 is not None:
        pos = int(u64[0] * (hdr - 8))
        data[pos : pos + 8] = struct.pack("<Q", u64[1])
    if cut is not None:
        data = data[: int(cut * len(data))]
    p = tmp_path / "mut.gguf"
    p.write_bytes(bytes(data))
    t = time.perf_counter()
    try:
        spec = model_from_gguf(p)
        assert spec.weights_bytes >= 0
    except BadFileError as exc:
        assert str(p) in str(exc)
    assert time.perf_counter() - t < 10.0


def test_long_run_of_empty_strings_is_fast(tmp_path):
    """A corrupt count walking into zeroed bytes must not cost 8 bytes per Python iteration."""
    n = (1 << 24) - 1
    arr = _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, n)
    p = tmp_path / "zeros.gguf"
    with open(p, "wb") as fh:
        fh.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 2) + GOOD_KV[0] + arr)
        fh.truncate(fh.tell() + 8 * n + 64)  # sparse: n empty strings, then padding
    t = time.perf_counter()
    g = read_gguf(p)
    assert time.perf_counter() - t < 10.0
    assert len(g.metadata["tokenizer.ggml.tokens"]) == n


def test_unknown_architecture(tmp_path):
    p = tmp_path / "x.gguf"
    p.write_bytes(
        header(
            [
                kv_str("general.architecture", "frobnicator"),
                kv_u32("frobnicator.block_count", 2),
                kv_u32("frobnicator.embedding_length", 8),
            ],
            [],
        )
    )
    with pytest.raises(BadFileError, match="unknown architecture 'frobnicator'"):
        model_from_gguf(p)


def test_v2_and_alignment(tmp_path):
    p = tmp_path / "v2.gguf"
    p.write_bytes(header(GOOD_KV, [tinfo("a", (4, 4), 0, 0)], version=2))
    assert read_gguf(p).version == 2
    kvs = [*GOOD_KV, kv_u32("general.alignment", 64)]
    body = header(kvs, [tinfo("a", (4,), 0, 0), tinfo("b", (4,), 0, 64)], pad_data=0)
    body = body + b"\0" * ((-len(body)) % 64) + b"\0" * 128
    p.write_bytes(body)
    g = read_gguf(p)
    assert g.alignment == 64 and g.parts[0].data_offset % 64 == 0
    p.write_bytes(header(kvs, [tinfo("a", (4,), 0, 32)]))
    with pytest.raises(BadFileError, match="alignment 64"):
        read_gguf(p)


def test_huge_string_stays_on_disk_and_long_names(tmp_path):
    from rigfit.formats.gguf import LazyString

    big = "x" * (3 << 20)
    p = tmp_path / "s.gguf"
    p.write_bytes(header([*GOOD_KV, kv_str("tokenizer.chat_template", big)], []))
    t = time.perf_counter()
    v = read_gguf(p).metadata["tokenizer.chat_template"]
    assert time.perf_counter() - t < 10.0
    assert isinstance(v, LazyString) and len(v) == len(big) and v.load() == big
    _bad(tmp_path, header(GOOD_KV, [tinfo("t" * 64, (4,))]), "at most 63 allowed")
