"""Record each XiongjieDai notebook's host CPU and the PCIe generation it gives its GPUs.

    python benchmarks/host_links_from_notebooks.py --repo PATH/TO/GPU-Benchmarks-on-LLM-Inference \
        [--out benchmarks/data/groundtruth_host_links.csv]

The published rows of data/ground-truth/speed_calibration.csv name the GPU but not the box it
sat in. Every notebook of XiongjieDai/GPU-Benchmarks-on-LLM-Inference starts with a cell that
prints ``nvidia-smi`` and ``/proc/cpuinfo``; the host CPU fixes the PCIe generation of its slots,
which sets the speed of legacy row-split prompts (copies staged through the host). This script
reads that cell from a local clone and writes one row per notebook URL, so that
``benchmarks/calibrate.py`` and ``benchmarks/accuracy.py`` can add the ``host_link`` column that
``rigfit predict`` accepts. Lane counts are not printed, so x16 is assumed.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "data" / "groundtruth_host_links.csv"
URL = "https://github.com/XiongjieDai/GPU-Benchmarks-on-LLM-Inference/blob/main/"

#: PCIe generation of each host CPU platform's lanes (vendor product specifications:
#: Intel ARK for Xeon E5 v3/v4 (PCIe 3.0, 40 lanes), Xeon Scalable 1st gen (3.0, 48 lanes),
#: 3rd gen Ice Lake (4.0, 64 lanes); AMD EPYC 7001 "Naples" 3.0, 7002 "Rome" and 7003 "Milan"
#: 4.0, 9004 "Genoa" 5.0 (128 lanes each); Ryzen 5000 desktop 4.0 from the CPU's own lanes).
#: Ryzen 3000 desktop parts run 4.0 or 3.0 depending on the board, which is not recorded.
HOST_PCIE = [
    (r"Xeon\(R\) CPU E5-\d{4} v[34]", "3.0"),
    (r"Xeon\(R\) (Gold|Silver|Platinum) [4-8]1\d\d", "3.0"),
    (r"Xeon\(R\) (Gold|Silver|Platinum) [4-8]3\d\d", "4.0"),
    (r"EPYC 7\d[0-9]1P?\b", "3.0"),  # 7xx1: Naples
    (r"EPYC 7\d\d[23]P?\b|EPYC 7B1[23]", "4.0"),  # 7xx2 Rome, 7xx3 Milan, 7B12/7B13 (Google Milan)
    (r"EPYC 9\d\d4", "5.0"),
    (r"Ryzen \d 5\d00X", "4.0"),
]


def host_pcie(cpu: str) -> str | None:
    for pattern, gen in HOST_PCIE:
        if re.search(pattern, cpu):
            return gen
    return None


def notebook_host(text: str) -> tuple[str, int]:
    """(host CPU model name, number of GPUs nvidia-smi lists) from a notebook's JSON."""
    nb = json.loads(text)
    out = ""
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            if "text" in o:
                out += "".join(o["text"])
    cpus = re.findall(r"model name\s*:\s*([^\n]+)", out)
    gpus = re.findall(r"\|\s+\d+\s+NVIDIA[^|]+?\s+(?:On|Off)\s+\|\s+[0-9A-Fa-f:.]+", out)
    return (cpus[0].strip() if cpus else ""), len(gpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, required=True, help="a clone of the notebooks' repository")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    try:
        names = subprocess.run(
            ["git", "-C", str(args.repo), "ls-tree", "-r", "HEAD", "--name-only"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"host_links: cannot list {args.repo}: {exc}", file=sys.stderr)
        return 2
    rows = []
    for name in sorted(n for n in names if n.endswith(".ipynb") and "/Mac/" not in n):
        text = subprocess.run(
            ["git", "-C", str(args.repo), "show", f"HEAD:{name}"], check=True, capture_output=True, text=True
        ).stdout
        cpu, n_gpu = notebook_host(text)
        gen = host_pcie(cpu)
        rows.append(
            {
                "source_url": URL + quote(name),
                "host_cpu": cpu,
                "gpus_listed": n_gpu,
                "host_link": f"PCIe {gen}" if gen else "",
                "evidence": "notebook's first cell: /proc/cpuinfo model name and nvidia-smi; "
                "PCIe generation of that CPU platform (vendor specifications); "
                "lanes not printed (x16 assumed)",
            }
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    known = sum(1 for r in rows if r["host_link"])
    print(f"wrote {args.out}: {len(rows)} notebooks, {known} with a known host PCIe generation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
