"""Placement from per-layer sums (issue 15) equals adding the table's runs one by one."""

from __future__ import annotations

import pytest

from rigfit.catalog.models import get_model
from rigfit.estimate import placement as P
from rigfit.estimate.tensors import catalog_model_spec


def _run_by_run(model, n_layer, names, has_accels, n_eff, splits, cpu_moe, n_cpu_moe, repack_on):
    """The reference: every run through :meth:`_Weights.add_run`, as llama.cpp assigns tensors."""
    on = P._layer_devices_cached(n_layer, n_eff, names, splits)
    layer_device, output_device = on[:n_layer], on[n_layer]
    w = P._Weights((*names, P.CPU), has_accels, repack_on, by_name=False)
    devs = P._run_devices(P._model_runs(model, n_layer), layer_device, output_device, cpu_moe, n_cpu_moe)
    for run, dev in zip(P._model_runs(model, n_layer), devs, strict=True):
        in_ram = dev == P.CPU and run.role == "layer" and P._in_ram(run, layer_device)
        w.add_run(run, dev, expert_in_ram=in_ram)
    P._tied_output(model, w, output_device)
    return w.weights, w.repack_bytes, w.dup, w.largest_cpu, w.mapped_bytes(), w.mapped_hi


@pytest.mark.parametrize(
    ("model_id", "quant"),
    [
        ("qwen3-30b-a3b", "Q4_K_M"),
        ("qwen3-30b-a3b", "Q4_0"),
        ("gemma-3-270m", "Q8_0"),
        ("gpt-oss-20b", "MXFP4"),
    ],
)
def test_sums_match_run_by_run(model_id: str, quant: str) -> None:
    spec = catalog_model_spec(get_model(model_id), quant)
    nl = spec.arch.n_layer
    assert P._unique_names(P._model_runs(spec, nl))  # the per-layer path is the one taken
    moe = any(run.expert for run in P._model_runs(spec, nl))
    assert moe == (model_id != "gemma-3-270m")
    n = 0
    seen_in_ram = False
    for names, splits in [
        ((), ()),
        (("CUDA0",), (1.0,)),
        (("CUDA0", "CUDA1"), (0.4, 1.0)),
        (("A", "B"), (0.0, 1.0)),
    ]:
        for n_eff in sorted({0, 1, nl // 3, nl, nl + 1}) if names else [0]:
            for cpu_moe, n_cpu_moe in [(False, 0), (True, 0), (False, nl // 2), (False, nl + 3)]:
                for repack_on in (True, False):
                    args = (nl, names, bool(names), n_eff, splits, cpu_moe, n_cpu_moe)
                    pl = P._place(spec, *args, False, repack_on)
                    got = (
                        pl.weights_bytes,
                        pl.repack_bytes,
                        pl.duplicated_bytes,
                        pl.largest_cpu_matmul_bytes,
                        pl.mapped_bytes,
                        pl.mapped_end,
                    )
                    assert got == _run_by_run(spec, *args, repack_on), (args, repack_on)
                    assert list(pl.weights_bytes) == [*names, P.CPU]
                    in_ram = sorted(
                        {
                            run.layer
                            for run, dev in zip(pl.runs, pl.run_devices, strict=True)
                            if dev == P.CPU and run.expert and pl.layer_device[run.layer] != P.CPU
                        }
                    )
                    assert pl.expert_cpu_layers() == in_ram
                    assert P.experts_in_ram_layers(spec, pl) == len(in_ram)
                    seen_in_ram = seen_in_ram or bool(in_ram)
                    n += 1
    assert n > 50
    assert seen_in_ram == moe  # experts kept in RAM were checked
