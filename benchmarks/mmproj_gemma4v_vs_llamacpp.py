"""Predicted vs measured: the Gemma 4 (gemma4v) projector weights and image-encoder compute buffer.

Writes synthetic gemma4v projectors (tests/synth_mmproj.py ``write_gemma4v_mmproj``), loads each
with the bundled Gemma 3 270M in real llama.cpp (xllamacpp, CPU backend, ``--mmproj``), flash
attention on and off, and prints rigfit's prediction against clip.cpp's log lines, MiB.

    PYTHONPATH=src python benchmarks/mmproj_gemma4v_vs_llamacpp.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from rigfit.estimate.vision import encoder_compute_bytes
from rigfit.formats.bundled import bundled_gemma_path
from rigfit.formats.mmproj import read_mmproj
from rigfit.measure.llamacpp_log import RunConfig, run_llamacpp
from synth_mmproj import write_gemma4v_mmproj

MIB = 1024**2
#: (n_embd, n_ff, n_head, n_layer): small, the on-device tower (768 / 3072 / 12) and the large
#: tower's widths (1152 / 4304 / 16) of Gemma 4.
GRID = [
    (256, 512, 4, 2),
    (512, 512, 4, 2),
    (256, 2048, 4, 2),
    (256, 512, 8, 2),
    (768, 3072, 12, 2),
    (256, 512, 4, 5),
    (1152, 4304, 16, 2),
]


def main() -> int:
    d = Path(tempfile.mkdtemp())
    cfgs, rows = [], []
    for e, f, h, n_layer in GRID:
        path = write_gemma4v_mmproj(
            d / f"g4v_{e}_{f}_{h}_{n_layer}.gguf", n_embd=e, n_ff=f, n_head=h, n_layer=n_layer
        ).path
        for fa in ("on", "off"):
            cfgs.append(RunConfig(str(bundled_gemma_path()), n_ctx=512, flash_attn=fa, mmproj_path=str(path)))
            rows.append((e, f, h, n_layer, fa, read_mmproj(path)))
    logs = run_llamacpp(cfgs, per_process=4)
    worst = 0.0
    for (e, f, h, n_layer, fa, info), log in zip(rows, logs, strict=True):
        if not log.ok or log.mmproj is None:
            print(f"E {e} F {f} H {h} L {n_layer} FA {fa}: llama.cpp failed: {log.error}")
            continue
        c_meas, w_meas = sum(log.mmproj["compute"].values()), log.mmproj["weights_mib"]
        c_pred = encoder_compute_bytes(info, fa == "on") / MIB
        err = 100 * (c_pred - c_meas) / c_meas
        worst = max(worst, abs(err) / 100)
        print(
            f"E {e:5} F {f:5} H {h:3} L {n_layer} FA {fa:3} | weights {info.weights_bytes / MIB:7.2f} / "
            f"{w_meas:7.2f} | compute {c_pred:8.2f} / {c_meas:8.2f} ({err:+.1f} %)"
        )
    print(f"\nlargest compute error {100 * worst:.1f} % (measured: llama.cpp CPU backend via xllamacpp)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
