"""Load every synthetic GGUF of tests/synth.py (and the bundled Gemma 3 270M) into real llama.cpp
(xllamacpp, via MEM's rigfit.measure.llamacpp_log runner) and compare llama.cpp's reading of the
hparams and KV-cache layer split with rigfit's Architecture.

    python benchmarks/check_synth_llamacpp.py

One line per model: loaded yes/no, hparams compared, and every field where rigfit and llama.cpp
disagree (there should be none).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> int:
    import llamacpp_oracle
    import synth
    from rigfit.formats.gguf import read_gguf
    from rigfit.formats.gguf_arch import architecture_from_gguf

    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for name, writer in synth.WRITERS.items():
            files.append((name, writer(Path(tmp) / f"{name}.gguf").path))
        try:
            from rigfit.formats.bundled import bundled_gemma_path

            files.append(("gemma3-270m", bundled_gemma_path()))
        except Exception as exc:
            print(f"(bundled Gemma not available: {exc})")
        for name, path in files:
            info = llamacpp_oracle.llamacpp_reading(path)
            arch = architecture_from_gguf(read_gguf(path))
            diffs = llamacpp_oracle.compare(arch, info)
            failed += (not info["ok"]) or bool(diffs)
            print(
                f"{name:14s} loaded by llama.cpp: {'yes' if info['ok'] else 'NO':3s}  "
                f"hparams compared: {len(info['hparams']):3d}  KV-cache layers (full, SWA): "
                f"{info['kv_layers']!s:9s} mismatches: {len(diffs)}"
            )
            for d in diffs:
                print(f"    {d}")
            if not info["ok"]:
                print(f"    {info['error']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
