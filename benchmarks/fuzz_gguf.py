"""Fuzz rigfit's GGUF reader with mutated real headers.

    python benchmarks/fuzz_gguf.py [--n 10000] [--seed 0]

Bases: the synthetic llama / deepseek2-MLA / qwen3moe / mamba2 / gemma3 GGUFs of tests/synth.py
and the bundled Gemma 3 270M (262k-token vocabulary). Only the header (+4 KiB) is mutated and
written; the rest of the file is restored as a sparse tail of the original length, so that
intact-looking files reach the architecture reader too. Each case applies
random mutations — byte flips, 32/64-bit overwrites with edge values (0, 1, 2^31, 2^32-1, 2^60,
2^64-1), truncation, insertion and deletion — biased towards the key/value and tensor-info
regions, writes the file, and runs ``read_gguf`` + ``architecture_from_gguf`` on it.

Every outcome must be "ok" or a clean ``BadFileError``; anything else is a crash. A case slower
than 1 s is a hang. Prints the counts and exits non-zero on any crash or hang.
"""

from __future__ import annotations

import argparse
import collections
import random
import struct
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

EDGE = [0, 1, 2, 3, 4, 7, 8, 9, 12, 13, 255, 2**16 - 1, 2**31, 2**32 - 1, 2**32, 2**60, 2**63, 2**64 - 1]


def _bases(tmp: Path) -> dict[str, tuple[bytes, list[tuple[int, int]], int]]:
    import synth
    from rigfit.formats.gguf import read_gguf

    files = {name: w(tmp / f"{name}.gguf").path for name, w in synth.WRITERS.items()}
    try:
        from rigfit.formats.bundled import bundled_gemma_path

        files["gemma3-270m"] = bundled_gemma_path()
    except Exception as exc:
        print(f"(bundled Gemma not available: {exc})")
    out = {}
    for name, path in files.items():
        g = read_gguf(path)
        off = g.parts[0].data_offset
        with open(path, "rb") as fh:
            data = fh.read(off + 4096)
        first = g.tensors[0].name.encode()
        t0 = data.find(struct.pack("<Q", len(first)) + first)
        regions = [(4, min(4096, t0)), (t0, off)]  # KV head (before long arrays end) and tensor infos
        out[name] = (data, regions, g.file_size)
    return out


def _mutate(rng: random.Random, data: bytes, regions: list[tuple[int, int]]) -> tuple[bytes, bool]:
    b = bytearray(data)
    truncated = False

    def pos(width: int = 1) -> int:
        r = rng.random()
        if r < 0.85:
            lo, hi = rng.choice(regions)
        else:
            lo, hi = 0, len(b)
        return max(0, min(rng.randrange(lo, max(lo + 1, hi - width)), len(b) - width))

    for _ in range(rng.randint(1, 4)):
        if len(b) < 16:
            break
        op = rng.random()
        if op < 0.35:
            b[pos()] = rng.randrange(256)
        elif op < 0.6:
            p = pos(8)
            b[p : p + 8] = struct.pack("<Q", rng.choice(EDGE))
        elif op < 0.75:
            p = pos(4)
            b[p : p + 4] = struct.pack("<I", rng.choice(EDGE) & 0xFFFFFFFF)
        elif op < 0.85:
            del b[rng.randrange(len(b)) :]
            truncated = True
        elif op < 0.93:
            p = pos()
            b[p:p] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        else:
            p = pos()
            del b[p : p + rng.randint(1, 16)]
        if not b:
            break
    return bytes(b), truncated


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from rigfit.errors import BadFileError
    from rigfit.formats.gguf import read_gguf
    from rigfit.formats.gguf_arch import architecture_from_gguf

    rng = random.Random(args.seed)
    counts: collections.Counter[str] = collections.Counter()
    per_base: collections.Counter[str] = collections.Counter()
    crashes: list[str] = []
    hangs: list[str] = []
    slowest = (0.0, "")
    problems: collections.Counter[str] = collections.Counter()
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        bases = _bases(tmp)
        names = sorted(bases)
        target = tmp / "case.gguf"
        for i in range(args.n):
            name = names[i % len(names)]
            data, regions, full_size = bases[name]
            case, truncated = _mutate(rng, data, regions)
            with open(target, "wb") as fh:
                fh.write(case)
                if not truncated:  # restore the tensor data's length as a sparse tail (no writes)
                    fh.truncate(max(len(case), full_size + len(case) - len(data)))
            per_base[name] += 1
            t = time.perf_counter()
            try:
                architecture_from_gguf(read_gguf(target))
                outcome = "ok"
            except BadFileError as exc:
                outcome = "BadFileError"
                problems[exc.problem.split(":")[0][:48]] += 1
            except Exception:
                outcome = "crash"
                crashes.append(f"case {i} ({name}): {traceback.format_exc(limit=3)}")
            dt = time.perf_counter() - t
            if dt > slowest[0]:
                slowest = (dt, f"case {i} ({name})")
            if dt > 1.0:
                hangs.append(f"case {i} ({name}): {dt:.2f} s")
            counts[outcome] += 1
    total = time.perf_counter() - t_start
    print(f"fuzz_gguf: {args.n:,} mutated headers (seed {args.seed}) in {total:.1f} s")
    print("  bases: " + ", ".join(f"{k} {v}" for k, v in sorted(per_base.items())))
    print(f"  ok (mutation left a readable file): {counts['ok']:,}")
    print(f"  clean BadFileError:                 {counts['BadFileError']:,}")
    print(f"  crashes (any other exception):      {counts['crash']:,}")
    print(f"  hangs (> 1 s):                      {len(hangs):,}")
    print(f"  slowest case: {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    print("  most frequent errors: " + "; ".join(f"{k} ×{v}" for k, v in problems.most_common(6)))
    for c in crashes[:5]:
        print(c)
    for h in hangs[:5]:
        print(h)
    return 1 if crashes or hangs else 0


if __name__ == "__main__":
    sys.exit(main())
