"""The screening memory plan's shortcuts (issue 15, session 27) change no figure:

* a machine's llama.cpp facts (offload devices, backend names, default split, repacking, each GPU's
  capacity) worked out once per machine object equal those worked out afresh;
* the device → backend mapping memoized by (kind, vendor) equals the rule applied to each device;
* a placement's per-device layers (one pass, kept) equal the layers counted afresh;
* ``PlanSettings.llama`` hands back one object per context, equal to a fresh one, and out of
  equality, pickles and ``replace``;
* ``device_memory``'s kept answers (the placement's packed rows plus this machine's capacities),
  first and again, equal the rows sized afresh from an uncached placement, over catalog models ×
  machines × -ngl values.
"""

from __future__ import annotations

import copy
import pickle
import re
from dataclasses import asdict, replace

import pytest

from rigfit import plan as plan_mod
from rigfit import recommend as rec
from rigfit.catalog.models import load_models
from rigfit.errors import RigfitError
from rigfit.estimate import memory as mem
from rigfit.estimate import placement as placement_mod
from rigfit.estimate import speculative as spec_mod
from rigfit.estimate.backends import default_backend
from rigfit.hardware.grammar import resolve_machine
from rigfit.plan_capacity import device_capacity, gpu_capacities, pack_rows, unpack_rows
from rigfit.plantypes import PlanSettings

MACHINES = (
    "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200",
    "RTX 4090 + Ryzen 9 7950X + 64GB DDR5-6000",
    "2x RTX 3090 + 128GB DDR4-3200",
    "RX 7900 XTX + 64GB DDR5-6000",
    "RTX 3060 12GB + RTX 3080 + 64GB DDR4-3200",  # unequal split
    "M2 Max 64GB",  # unified memory
    "Arc B580 + 32GB DDR5-5600",
    "Ryzen 7 5800X + 32GB DDR4-3200",  # CPU only
)


def _backend_rule(kind: str, vendor: str | None) -> str:
    """The device → backend rule of rigfit.estimate.backends, applied afresh."""
    if kind == "cpu":
        return "CPU"
    words = set(re.findall(r"[a-z0-9]+", (vendor or "").lower()))
    if kind == "apple" or "apple" in words:
        return "Metal"
    if kind not in ("gpu", "apu", "apple"):
        return "CPU"
    if "nvidia" in words:
        return "CUDA"
    if words & {"amd", "ati"}:
        return "ROCm"
    return "SYCL" if "intel" in words else "Vulkan"


@pytest.mark.parametrize("name", MACHINES)
def test_machine_facts_equal_facts_worked_out_afresh(name: str) -> None:
    box = resolve_machine(name)
    facts = placement_mod.machine_facts(box)
    accels = placement_mod.accelerators_for_llamacpp(box)
    assert list(facts.accels) == accels
    assert list(facts.names) == placement_mod.accelerator_names(box)[: len(accels)]
    assert facts.splits == tuple(placement_mod._gpu_splits(accels, None, None))
    assert facts.repacks == placement_mod.cpu_repacks(box)
    assert facts.backends == tuple((d.kind, _backend_rule(d.kind, d.vendor)) for d in accels)
    assert gpu_capacities(box) == tuple(device_capacity(d, box) for d in accels)
    assert placement_mod.machine_facts(box) is facts  # kept per machine object
    other = resolve_machine(name)  # an equal machine: its own facts, equal
    assert placement_mod.machine_facts(other) == facts


def test_backend_memo_equals_the_rule_for_every_device_kind_and_vendor() -> None:
    devices = [d for name in MACHINES for box in [resolve_machine(name)] for d in box.accelerators]
    devices += [d for name in MACHINES if (cpu := resolve_machine(name).cpu) is not None for d in [cpu]]
    vendors = ["NVIDIA", "Advanced Micro Devices [AMD/ATI]", "Intel Corporation", "Apple", "Matrox", None, ""]
    for d in devices:
        for kind in ("gpu", "apu", "apple", "cpu", "hosted"):
            for vendor in (d.vendor, *vendors):
                dev = replace(d, kind=kind, vendor=vendor)
                assert default_backend(dev) == _backend_rule(kind, vendor), (kind, vendor)


def _specs(step: int) -> list:
    out = []
    for arch in load_models()[::step]:
        try:
            out.append(rec._spec(arch.id, "Q4_K_M"))
        except RigfitError:
            continue
    return out


@pytest.mark.parametrize("name", MACHINES[2:5])
def test_placement_layer_spans_equal_layers_counted_afresh(name: str) -> None:
    box = resolve_machine(name)
    checked = 0
    for spec in _specs(9):
        n = spec.arch.n_layer
        for ngl, no_kv in ((None, False), (0, False), (n // 2, False), (n // 3, True)):
            pl = placement_mod.place(spec, box, ngl=ngl, no_kv_offload=no_kv)
            fields = placement_mod._PLACEMENT_FIELDS
            built = placement_mod.Placement(**{f: getattr(pl, f) for f in fields})  # the frozen __init__
            assert built == pl and [getattr(built, f) for f in fields] == [getattr(pl, f) for f in fields]
            assert list(vars(built))[: len(fields)] == list(vars(pl))[: len(fields)] == list(fields)
            assert pl.gpu_devices == tuple(d for d in pl.devices if d != placement_mod.CPU)
            assert pl.full_offload == (
                bool(pl.gpu_devices)
                and pl.output_device != placement_mod.CPU
                and all(d != placement_mod.CPU for d in pl.layer_device)
            )
            for dev in pl.devices:
                assert pl.layers_on(dev) == list(placement_mod._layers_on(pl.layer_device, dev))
                for n_layer in (n, n - 1, n + 1):
                    want = placement_mod._layers_on(pl.kv_device[:n_layer], dev)
                    assert pl.kv_layers_on(dev, n_layer) == want
            checked += 1
    assert checked > 60


def test_llama_settings_kept_per_context_equal_fresh() -> None:
    s = PlanSettings(n_ctx=8192, n_parallel=2, flash_attn="on", kv_type_k="q8_0", kv_type_v="q8_0")
    a = s.llama(8192)
    assert a == s._llama_settings(8192) and repr(a) == repr(s._llama_settings(8192))
    assert s.llama(8192) is a  # the same object: its hash is worked out once
    b = s.llama(4096)
    assert b == s._llama_settings(4096) and b.n_ctx == 4096
    assert s.llama(8192) == a  # asked again after another context: equal
    assert repr(s.llama(1.5)) == repr(s._llama_settings(1.5))  # type: ignore[arg-type]  # (not kept)
    assert s == PlanSettings(n_ctx=8192, n_parallel=2, flash_attn="on", kv_type_k="q8_0", kv_type_v="q8_0")
    for twin in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s), copy.copy(s), replace(s)):
        assert twin == s and "_llama_at" not in twin.__dict__


def test_canonical_settings_are_equal_and_reused() -> None:
    a, b = PlanSettings(n_ctx=4096, prompt_tokens=2048), PlanSettings(n_ctx=4096, prompt_tokens=2048)
    ka = plan_mod._canonical(a)
    assert plan_mod._canonical(b) is ka and ka == a == b
    unhashable = PlanSettings(tensor_split=[1.0, 1.0])  # type: ignore[arg-type]
    assert plan_mod._canonical(unhashable) is unhashable


def _fresh_rows(spec, box, settings: PlanSettings, n_ctx: int, ngl, profile) -> tuple:
    """The placement and rows sized without any kept placement, rows or facts."""
    trunk = spec_mod.trunk_model(spec)
    accels = placement_mod.accelerators_for_llamacpp(box)
    names = tuple(placement_mod.accelerator_names(box)[: len(accels)])
    n_eff = placement_mod.resolve_ngl(ngl, trunk.arch.n_layer) if accels else 0
    splits = tuple(placement_mod._gpu_splits(accels, None, None))
    args = (
        trunk.arch.n_layer,
        names,
        bool(accels),
        n_eff,
        splits,
        False,
        0,
        False,
        placement_mod.cpu_repacks(box),
    )
    pl = placement_mod.skipped_mtp_span(spec, trunk, placement_mod._place(trunk, *args))
    rows = plan_mod._device_rows(trunk, box, settings, n_ctx, pl, profile, accels)
    for d, dev in zip(rows, accels, strict=False):
        d.capacity_bytes, d.capacity_source = device_capacity(dev, box)
    plan_mod._host_capacity(rows[-1], box, rows[:-1])
    return pl, [asdict(d) for d in rows]


@pytest.mark.parametrize("name", MACHINES)
def test_kept_device_memory_equals_rows_sized_afresh(name: str) -> None:
    box = resolve_machine(name)
    profile = mem.build_profile(None)
    checked = 0
    for spec in _specs(11):
        n = spec.arch.n_layer
        settings = PlanSettings(n_ctx=8192, prompt_tokens=2048)
        for ngl in (None, 0, n // 2):
            want_pl, want = _fresh_rows(spec, box, settings, 8192, ngl, profile)
            pl, first = plan_mod.device_memory(
                spec, box, PlanSettings(n_ctx=8192, prompt_tokens=2048), 8192, ngl, profile
            )
            assert pl == want_pl and [asdict(d) for d in first] == want, (spec.arch.id, ngl)
            for d in first:  # what a caller may do to its rows
                d.capacity_bytes, d.kv_bytes = -1, -1
            pl2, again = plan_mod.device_memory(spec, box, settings, 8192, ngl, profile)
            assert pl2 is pl and [asdict(d) for d in again] == want, (spec.arch.id, ngl)
            assert [list(vars(d)) for d in again] == [list(vars(d)) for d in first]  # field order too
            checked += 1
    assert checked > 40


def test_unpacked_rows_equal_packed_rows_in_field_order() -> None:
    box = resolve_machine(MACHINES[2])
    spec = _specs(25)[0]
    _, rows = plan_mod._device_memory(
        spec, box, PlanSettings(n_ctx=4096), 4096, None, mem.build_profile(None)
    )
    back = unpack_rows(pack_rows(rows))
    assert [vars(d) for d in back] == [vars(d) for d in rows]
    assert [list(vars(d)) for d in back] == [list(vars(d)) for d in rows]
    with pytest.raises(ValueError):
        unpack_rows((pack_rows(rows)[0][:-1],))
