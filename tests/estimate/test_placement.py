"""Placement rules (llama.cpp load_tensors): ngl, output layer, tied output, multi-GPU split, cpu-moe."""

from __future__ import annotations

import pytest

from rigfit.errors import RigfitError
from rigfit.estimate.placement import CPU, place, resolve_ngl
from rigfit.formats.source import load_model_source
from rigfit.hardware.grammar import resolve_machine


@pytest.fixture(scope="module")
def llama8b():
    return load_model_source("llama-3.1-8b")


@pytest.fixture(scope="module")
def box():
    return resolve_machine("RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200")


def test_ngl_zero_keeps_everything_on_cpu(llama8b, box):
    p = place(llama8b, box, ngl=0)
    assert set(p.layer_device) == {CPU} and p.output_device == CPU
    assert p.weights_bytes[CPU] == llama8b.weights_bytes
    assert p.n_gpu_layers == 0


def test_last_layers_go_to_gpu_output_only_above_n_layer(llama8b, box):
    p = place(llama8b, box, ngl=10)
    assert p.layer_device[:22] == (CPU,) * 22 and p.layer_device[22:] == ("CUDA0",) * 10
    assert p.output_device == CPU
    p32 = place(llama8b, box, ngl=32)
    assert p32.output_device == CPU and p32.n_gpu_layers == 32
    p33 = place(llama8b, box, ngl=33)
    assert p33.output_device == "CUDA0" and p33.n_gpu_layers == 33
    # token_embd always stays on the CPU
    assert p33.tensor_device["token_embd.weight"] == CPU


def test_ngl_above_layers_means_all(llama8b, box):
    assert resolve_ngl(999, 32) == 33
    assert resolve_ngl(None, 32) == 33
    assert resolve_ngl(-1, 32) == 33
    a, b = place(llama8b, box, ngl=999), place(llama8b, box, ngl=None)
    assert a.weights_bytes == b.weights_bytes


def test_tied_output_is_duplicated_on_gpu(box):
    g = load_model_source("gemma-3-1b")
    assert g.arch.tied_embeddings
    emb = next(t for t in g.tensors if t.name == "token_embd.weight")
    full = place(g, box, ngl=None)
    assert full.duplicated_bytes["CUDA0"] == emb.n_bytes
    assert full.weights_bytes["CUDA0"] + full.weights_bytes[CPU] == g.weights_bytes + emb.n_bytes
    part = place(g, box, ngl=g.arch.n_layer)
    assert part.duplicated_bytes["CUDA0"] == 0


def test_two_gpu_split_by_tensor_split(llama8b):
    m = resolve_machine("2x RTX 3090")
    p = place(llama8b, m, ngl=None, tensor_split=[3, 1])
    n0, n1 = p.layers_per_device
    # upper_bound over cumulative splits 0.75, 1.0 of (il / 33): layers 0..24 on CUDA0
    assert (n0, n1) == (25, 7)
    assert p.output_device == "CUDA1"
    even = place(llama8b, m, ngl=None)
    assert even.layers_per_device == (17, 15)
    with pytest.raises(RigfitError):
        place(llama8b, m, tensor_split=[1, 1, 1])


def test_cpu_moe_keeps_experts_in_ram(box):
    q = load_model_source("qwen3-30b-a3b")
    full = place(q, box, ngl=None)
    cmoe = place(q, box, ngl=None, cpu_moe=True)
    exps = sum(t.n_bytes for t in q.tensors if "_exps" in t.name)
    assert cmoe.weights_bytes[CPU] - full.weights_bytes[CPU] == exps
    some = place(q, box, ngl=None, n_cpu_moe=2)
    first2 = sum(t.n_bytes for t in q.tensors if "_exps" in t.name and t.layer in (0, 1))
    assert some.weights_bytes[CPU] - full.weights_bytes[CPU] == first2


def test_no_kv_offload_and_repack(llama8b, box):
    p = place(llama8b, box, ngl=None, no_kv_offload=True)
    assert set(p.kv_device) == {CPU}
    cpu_only = place(llama8b, box, ngl=0)
    q4k = sum(t.n_bytes for t in llama8b.tensors if t.ggml_type == "Q4_K" and t.layer is not None)
    assert cpu_only.repack_bytes == q4k
    assert place(llama8b, box, ngl=0, repack=False).repack_bytes == 0
    assert place(llama8b, box, ngl=None).repack_bytes == 0
