"""Predicted vs measured: the multimodal projector's weights and image-encoder compute buffer.

Writes synthetic Gemma 3 projectors (tests/synth_mmproj.py) of several encoder sizes, loads each
with the bundled Gemma 3 270M in real llama.cpp (xllamacpp, CPU backend, ``--mmproj``), flash
attention on and off, and prints rigfit's prediction against clip.cpp's log lines
(``load_hparams: model size`` and ``reserve_compute_meta: CPU compute buffer size``), MiB.
Acceptance: every row within 1 % or 1 MiB.

    python benchmarks/mmproj_vs_llamacpp.py
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
from synth_mmproj import write_gemma3_mmproj

MIB = 1024**2
#: (image_size, n_embd, n_ff, n_head, n_layer): small to SigLIP-So400m widths (1152 / 4304 / 16).
GRID = [
    (224, 256, 512, 4, 2),
    (336, 256, 512, 4, 2),
    (448, 256, 512, 4, 2),
    (896, 256, 512, 4, 2),
    (448, 512, 512, 4, 2),
    (448, 256, 2048, 4, 2),
    (448, 256, 512, 8, 2),
    (448, 256, 512, 4, 5),
    (224, 256, 4304, 4, 2),
    (448, 256, 4304, 1, 2),
    (672, 384, 1536, 6, 2),
    (448, 1152, 4304, 16, 2),
]


def main() -> int:
    d = Path(tempfile.mkdtemp())
    cfgs, rows = [], []
    for im, e, f, h, n_layer in GRID:
        path = write_gemma3_mmproj(
            d / f"mm_{im}_{e}_{f}_{h}_{n_layer}.gguf",
            n_embd=e,
            n_ff=f,
            n_head=h,
            n_layer=n_layer,
            image_size=im,
        ).path
        for fa in ("on", "off"):
            cfgs.append(RunConfig(str(bundled_gemma_path()), n_ctx=512, flash_attn=fa, mmproj_path=str(path)))
            rows.append((im, e, f, h, n_layer, fa, read_mmproj(path)))
    logs = run_llamacpp(cfgs, per_process=4)
    print(
        f"{'img':>4} {'E':>5} {'F':>5} {'H':>3} {'L':>2} {'FA':>3} | {'weights pred/meas MiB':>22} | "
        f"{'compute pred/meas MiB':>22} | {'err MiB':>7} ok"
    )
    worst = 0.0
    bad = 0
    for (im, e, f, h, n_layer, fa, info), log in zip(rows, logs, strict=True):
        if not log.ok or log.mmproj is None:
            print(f"{im:>4} {e:>5} {f:>5} {h:>3} {n_layer:>2} {fa:>3} | llama.cpp failed: {log.error}")
            bad += 1
            continue
        w_pred, w_meas = info.weights_bytes / MIB, log.mmproj["weights_mib"]
        c_meas = sum(log.mmproj["compute"].values())
        c_pred = encoder_compute_bytes(info, fa == "on") / MIB
        err = c_pred - c_meas
        ok = abs(err) <= max(0.01 * c_meas, 1.0) and abs(w_pred - w_meas) <= max(0.01 * w_meas, 1.0)
        bad += not ok
        worst = max(worst, abs(err))
        print(
            f"{im:>4} {e:>5} {f:>5} {h:>3} {n_layer:>2} {fa:>3} | {w_pred:>10.2f} / {w_meas:>9.2f} | "
            f"{c_pred:>10.2f} / {c_meas:>9.2f} | {err:>+7.2f} {'yes' if ok else 'NO'}"
        )
    print(
        f"\n{len(rows) - bad}/{len(rows)} within 1 % or 1 MiB; largest compute error {worst:.2f} MiB "
        "(measured: llama.cpp CPU backend via xllamacpp)"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
