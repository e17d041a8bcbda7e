"""Physical upper bounds on llama.cpp speed: what no run can beat, whatever its software.

Plain functions with units in brackets; ``rigfit check`` calls a published claim impossible when it is
above them.
"""

from __future__ import annotations


def decode_roofline_tps(bytes_per_token: float, bandwidth_bytes_per_s: float) -> float:
    """Upper bound on single-stream decode [tok/s]: bandwidth [B/s] / bytes read per token [B]."""
    return bandwidth_bytes_per_s / bytes_per_token


def decode_capacity_bound_tps(
    bytes_per_token: float, acc_capacity_bytes: float, acc_bandwidth: float, host_bandwidth: float
) -> float:
    """Upper bound on decode [tok/s] when the weights read per token exceed accelerator memory.

    x = max(0, W − C) bytes must come from host memory at ``host_bandwidth`` [B/s];
    t ≥ (W − x)/acc_bandwidth + x/host_bandwidth.
    """
    x = max(0.0, bytes_per_token - acc_capacity_bytes)
    return 1.0 / ((bytes_per_token - x) / acc_bandwidth + x / host_bandwidth)


def prefill_compute_bound_tps(active_params: float, peak_flops: float) -> float:
    """Upper bound on prompt processing [tok/s]: peak [FLOP/s] / (2 · active params)."""
    return peak_flops / (2.0 * active_params)
