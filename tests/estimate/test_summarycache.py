"""The on-disk per-table summaries (rigfit.estimate.summarycache): what a fresh process reads back
is what walking the table gives, plans and recommendations built on them are the same, and a
damaged file changes nothing but the speed."""

from __future__ import annotations

import marshal
from pathlib import Path

import pytest

from rigfit.catalog.models import get_model
from rigfit.estimate import placement, speculative, summarycache, tablecache, tensors, typecache
from rigfit.estimate.speed import work
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan import make_plan
from rigfit.plantypes import PlanSettings

CASES = [
    ("llama-3.1-8b", "Q4_K_M"),  # dense, untied output, repacked Q4_K layers
    ("qwen3-30b-a3b", "Q3_K_M"),  # MoE: expert runs
    ("gemma-3-27b", "Q4_0"),  # tied output head
    ("glm-4.5-air", "Q4_K_M"),  # an MTP block (trunk)
]
MACHINE = "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"


def _forget() -> None:
    """A new process: every in-memory table and summary forgotten."""
    typecache.reset()
    summarycache.reset()
    tensors._tensor_types_cached.cache_clear()
    tensors._weights_cached.cache_clear()
    getattr(tensors._catalog_tensors_cached, "cache_clear", lambda: None)()
    tensors._table_ref.cache_clear()
    for cache in (
        placement._RUNS,
        placement._TIED,
        placement._UNIQUE,
        placement._PLACEMENTS,
        placement._EXPERTS,
    ):
        cache.clear()
    work._MODEL_WORK.clear()
    speculative._TRUNK_TENSORS.clear()
    speculative._TRUNK_REFS.clear()
    for kept in (
        tablecache._STAGE_TERMS,
        tablecache._CONTEXT_BUFFERS,
        tablecache._STAGE_BYTES,
        tensors._NAMES,
    ):
        kept.clear()
    import rigfit.plan as plan_mod

    plan_mod._DEVICE_MEMORY.clear()


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RIGFIT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RIGFIT_NO_TABLE_CACHE", raising=False)
    monkeypatch.setattr(typecache, "FIRST_TABLES", 0)  # from the first table on
    _forget()
    yield tmp_path
    _forget()


def _figures(model: str, quant: str) -> tuple:
    spec = tensors.catalog_model_spec(get_model(model), quant)
    trunk = speculative.trunk_model(spec)
    runs = placement._placement_runs(trunk.tensors, trunk.arch.n_layer)
    plan = make_plan(spec, resolve_machine(MACHINE), PlanSettings(n_ctx=8192))
    return (
        runs,
        placement._unique_names(runs),
        placement._tied_head(trunk.tensors),
        work.model_work(trunk),
        trunk is spec,
        len(trunk.tensors),
        plan.fit,
        [(d.name, d.total_bytes, d.weights_bytes, d.compute_bytes) for d in plan.devices],
        plan.speed.decode_tps_ctx.value if plan.speed else None,
    )


def test_read_back_equals_the_walk(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RIGFIT_NO_TABLE_CACHE", "1")
    walked = {c: _figures(*c) for c in CASES}  # no disk at all
    monkeypatch.delenv("RIGFIT_NO_TABLE_CACHE")
    _forget()
    for c in CASES:  # computed and kept
        assert _figures(*c) == walked[c]
    summarycache.flush()
    assert len(list(cache_dir.glob("table-summaries-*.marshal"))) == 1
    _forget()

    def no_walk(*a: object, **k: object) -> None:
        raise AssertionError("walked the table, not read from the cache")

    monkeypatch.setattr(work, "_model_work", no_walk)
    monkeypatch.setattr(placement, "_run", no_walk)
    monkeypatch.setattr(placement, "tied_head_repack_bytes", no_walk)
    monkeypatch.setattr(tablecache, "stage_terms", no_walk)  # the per-architecture buffer terms
    monkeypatch.setattr(tablecache.mem, "kv_layer_bytes", no_walk)  # (context buffers)
    for c in CASES:  # a new process: every summary from disk
        assert _figures(*c) == walked[c]
    assert walked[("glm-4.5-air", "Q4_K_M")][4] is False  # the MTP case has a trunk
    assert walked[("llama-3.1-8b", "Q4_K_M")][4] is True


def test_damaged_file_is_ignored(cache_dir: Path) -> None:
    want = _figures(*CASES[0])
    summarycache.flush()
    (path,) = cache_dir.glob("table-summaries-*.marshal")
    path.write_bytes(b"\x00not marshal")
    _forget()
    assert _figures(*CASES[0]) == want


def test_damaged_entry_is_recomputed(cache_dir: Path) -> None:
    want = _figures(*CASES[1])
    entries = summarycache._entries()
    assert entries and all(isinstance(v, bytes) for v in entries.values())
    for k in list(entries):
        entries[k] = b"junk" if k.startswith("runs") else marshal.dumps(("junk",))
    summarycache.flush()
    _forget()
    assert _figures(*CASES[1]) == want


def test_unregistered_tables_are_not_looked_up() -> None:
    spec = tensors.catalog_model_spec(get_model("llama-3.1-8b"), "Q4_K_M")
    assert summarycache.table_key(spec.tensors) is not None
    assert summarycache.table_key(tuple(list(spec.tensors))) is None  # a copy: another table
    other = get_model("qwen3-8b")
    assert summarycache.table_key(spec.tensors, other) is None  # another architecture
    assert summarycache.table_key(spec.tensors, spec.arch, "Q8_0") is None  # another file type


def _plan_figures(model: str, quant: str) -> tuple:
    spec = tensors.catalog_model_spec(get_model(model), quant)
    plan = make_plan(spec, resolve_machine(MACHINE), PlanSettings(n_ctx=8192))
    return (
        spec.weights_bytes,
        plan.fit,
        plan.ngl,
        [(d.name, d.total_bytes, d.weights_bytes, d.compute_bytes, d.repack_bytes) for d in plan.devices],
        plan.speed.decode_tps_ctx.value if plan.speed else None,
    )


def test_plans_from_kept_summaries_build_no_table(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    want = {c: _plan_figures(*c) for c in CASES}  # tables built, summaries kept
    summarycache.flush()
    _forget()

    def no_table(*a: object, **k: object) -> None:
        raise AssertionError("built a tensor table")

    monkeypatch.setattr(tensors, "_catalog_tensors_cached", no_table)
    for c in CASES:  # a new process: the plans come from the summaries alone
        if c[0] == "glm-4.5-air":
            continue  # (an MTP block: its trunk is a table of its own, built)
        assert _plan_figures(*c) == want[c]


def test_names_read_back_without_shapes(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    arch = get_model("qwen3-30b-a3b")
    want = tuple(n for n, _ in tensors.tensor_shapes(arch))
    spec = tensors.catalog_model_spec(arch, "Q4_K_M")
    assert summarycache.ref_of(spec).names() == want  # worked out and kept
    summarycache.flush()
    _forget()
    tensors._NAMES.clear()

    def no_shapes(*a: object, **k: object) -> None:
        raise AssertionError("worked the shapes out, not read from the cache")

    spec = tensors.catalog_model_spec(arch, "Q4_K_M")  # a new process's first table (from disk)
    monkeypatch.setattr(tensors, "tensor_shapes", no_shapes)
    assert summarycache.ref_of(spec).names() == want


def test_lazy_spec_equals_the_eager_one() -> None:
    arch = get_model("llama-3.1-8b")
    spec = tensors.catalog_model_spec(arch, "Q4_K_M")
    assert isinstance(spec, tensors.CatalogSpec)
    eager = tensors._catalog_tensors(tensors.tensor_types(arch, "Q4_K_M"))
    assert spec.weights_bytes == sum(t.n_bytes for t in eager)
    assert spec.tensors == eager and spec.tensors is spec.tensors
    assert spec.file_type == "Q4_K_M" and spec.origin == "catalog" and not spec.tensors_exact
    with pytest.raises(Exception, match="converter"):
        tensors.catalog_model_spec(arch, "NVFP4")  # raised at once, as before, not when planned


def _kept_file(cache_dir: Path) -> Path:
    (path,) = cache_dir.glob("table-summaries-*.marshal")
    return path


def test_file_layout_and_lazy_reads(cache_dir: Path) -> None:
    """The file is the magic, the index and the entries; a new process reads the index, then only
    the entries it is asked for, and gets the bytes that were written."""
    _figures(*CASES[0])
    written = dict(summarycache._entries().added)
    summarycache.flush()
    data = _kept_file(cache_dir).read_bytes()
    assert data.startswith(summarycache.MAGIC)
    assert data == summarycache.encode_file(written)
    _forget()
    entries = summarycache._entries()
    assert len(entries) == len(written) and not entries.added and not entries.used
    key = next(iter(written))
    assert entries.get(key) == written[key] and entries.used == {key}  # read when asked, only it
    assert entries.get("no such\0entry") is None
    assert entries.to_write() == written


def test_old_format_file_is_not_read(cache_dir: Path) -> None:
    """A file in the layout before the index (one marshalled dict) holds no entries for this one."""
    want = _figures(*CASES[0])
    written = dict(summarycache._entries().added)
    summarycache.flush()
    _kept_file(cache_dir).write_bytes(marshal.dumps(written))
    _forget()
    assert len(summarycache._entries()) == 0
    assert _figures(*CASES[0]) == want


def test_truncated_file_loses_entries_not_figures(cache_dir: Path) -> None:
    want = _figures(*CASES[1])
    summarycache.flush()
    path = _kept_file(cache_dir)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])  # the last entries cut short
    _forget()
    assert _figures(*CASES[1]) == want
    summarycache.flush()  # recomputed entries written back whole
    _forget()
    entries = summarycache._entries()
    assert all(entries.get(k) is not None for k in entries)


def test_file_replaced_while_read(cache_dir: Path) -> None:
    """Another process writes the file (a rename over it) while this one reads: this one goes on
    reading the file it opened, whole."""
    _figures(*CASES[0])
    written = dict(summarycache._entries().added)
    summarycache.flush()
    _forget()
    entries = summarycache._entries()
    path = _kept_file(cache_dir)
    other = {k: marshal.dumps(("another process",)) for k in written}
    summarycache.usercache.write_file(path, summarycache.encode_file(other))  # as the other writes
    assert {k: entries.get(k) for k in written} == written
    _forget()
    assert {k: summarycache._entries().get(k) for k in written} == other


def test_large_file_keeps_what_a_process_used(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _figures(*CASES[0])
    first = dict(summarycache._entries().added)
    summarycache.flush()
    _forget()
    _figures(*CASES[1])  # another table: its entries added, the first table's not read
    added = dict(summarycache._entries().added)
    assert added and not summarycache._entries().used
    assert summarycache._entries().to_write() == first | added  # under the limit: everything kept
    monkeypatch.setattr(summarycache, "MAX_FILE_BYTES", 1)
    assert summarycache._entries().to_write() == added  # past it: only what this process used


def test_damaged_index_entries_are_missing_entries(cache_dir: Path) -> None:
    want = _figures(*CASES[0])
    written = dict(summarycache._entries().added)
    keys = list(written)
    bad: dict[str, object] = {keys[0]: (0, 2**40), keys[1]: (-5, 3), keys[2]: ("a", 1), keys[3]: (1,)}
    data = summarycache.encode_file(written)
    head = len(summarycache.MAGIC)
    n = int.from_bytes(data[head : head + 8], "little")
    index = marshal.loads(data[head + 8 : head + 8 + n]) | bad
    raw = marshal.dumps(index)
    path = cache_dir / "damaged.marshal"
    path.write_bytes(summarycache.MAGIC + len(raw).to_bytes(8, "little") + raw + data[head + 8 + n :])
    entries = summarycache._Entries.open(path)
    assert all(entries.get(k) is None for k in bad)
    assert all(entries.get(k) == written[k] for k in keys[4:])
    assert set(entries.to_write()) == set(keys[4:])  # written back without the damaged ones
    entries.close()
    summarycache.flush()
    _forget()
    assert _figures(*CASES[0]) == want


def test_read_whole_where_there_is_no_pread(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _figures(*CASES[0])
    written = dict(summarycache._entries().added)
    summarycache.flush()
    _forget()
    monkeypatch.delattr(summarycache.os, "pread")
    entries = summarycache._entries()
    assert entries._fd is None and {k: entries.get(k) for k in written} == written


def _typed(v: object) -> object:
    """``v`` with every part's type beside it (so 1, 1.0 and True, 0.0 and -0.0 compare unequal)."""
    if isinstance(v, (tuple, list)):
        return (type(v), [_typed(x) for x in v])
    if isinstance(v, dict):
        return (dict, [(_typed(k), _typed(x)) for k, x in v.items()])
    return (type(v), repr(v))


def test_shared_parts_read_back_equal_and_typed_alike() -> None:
    """Entries are written with their equal immutable parts shared (issue 15): smaller, and read
    back faster, but equal to what was stored, type for type; lists are never shared."""
    s = "x"

    def layer(i: int) -> tuple:  # equal values, each a new object (as a table's walk makes them)
        return (float(4096 + 0 * i), 0.0 * i, (4096 + 0 * i, 14336 + 0 * i), [1, 2])

    value = (
        tuple(layer(i) for i in range(4)),
        (1, 1.0, True, 0.0, -0.0, None, "a", b"b", float("nan")),
        [(1, 2 + 0 * len(s)), (1, 2 + 0 * len(s)), (1.0, 2)],
        {"k": (3, 4), "j": (3, 4)},
        tuple((4096.0 * (2 + 0 * i), (1, 2 + 0 * i)) for i in range(50)),
    )
    got = summarycache.shared(value)
    assert _typed(got) == _typed(value)
    back = marshal.loads(marshal.dumps(got))
    assert _typed(back) == _typed(value)
    assert len(marshal.dumps(got)) < len(marshal.dumps(value))  # the repeats written once
    assert got[2][0] is got[2][1] and got[2][2] is not got[2][0]  # equal tuples shared, (1.0, 2) not
    assert got[1][3] is not got[1][4]  # 0.0 and -0.0 stay apart
    assert got[0][0][3] is not got[0][1][3]  # lists are never shared, nor the tuples holding them
    got[0][0][3].append(9)
    assert got[0][1][3] == [1, 2]


def test_shared_entries_in_the_file(cache_dir: Path) -> None:
    """A kept entry is the shared form (its repeated per-layer parts written once), and a fresh
    process reads back the same figures."""
    first = _figures("llama-3.1-8b", "Q4_K_M")
    summarycache.flush()
    entries = summarycache._Entries.open(_kept_file(cache_dir))
    work_keys = [k for k in entries if k.startswith("work\0")]
    assert work_keys
    raw = entries.get(work_keys[0])
    assert raw is not None
    walked = work._encode_work(
        work._model_work(tensors.catalog_model_spec(get_model("llama-3.1-8b"), "Q4_K_M"))
    )
    assert _typed(marshal.loads(raw)) == _typed(walked)
    assert len(raw) < len(marshal.dumps(walked)) / 2  # 32 alike layers: their sums written once
    entries.close()
    _forget()
    assert _figures("llama-3.1-8b", "Q4_K_M") == first
