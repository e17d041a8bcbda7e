"""Operating system and GPU driver: a fitted speed factor per (kind, vendor, backend, OS).

The same card runs llama.cpp at very different speeds under different drivers. The clearest case
in the ground truth is Intel Arc on Vulkan: in https://github.com/ggml-org/llama.cpp/pull/14001
(build 5583, gemma-2-2b Q4_K_M) one author ran the same three Intel GPUs (Core Ultra 7 268V's
Arc 140V, Arc B580, Arc A770) on Windows 11 with Intel's driver 32.0.101.6795 and on Ubuntu
24.04.2 with Mesa 24.2.8 (the ANV driver): decode was 2.5–3.1× and prefill 1.2–2.9× slower on
Linux. The physics is the driver's shader compiler and feature set, not the silicon:

- llama.cpp's Vulkan backend picks its kernels by driver: Mesa ANV reported ``int dot: 1`` and the
  Windows driver ``int dot: 0`` in PR 14001's logs, so the two ran different matrix-vector
  shaders; later PRs tune or switch off the integer-dot (MMVQ) decode path for the Windows driver
  alone (https://github.com/ggml-org/llama.cpp/pull/19988,
  https://github.com/ggml-org/llama.cpp/pull/20672);
- cooperative matrices (the XMX engines) are switched on per architecture and per driver: on for
  Xe2 from PR 14001, and on for Arrow Lake's Xe-LPG Plus on Windows but kept off on Linux pending a
  Mesa fix (https://github.com/ggml-org/llama.cpp/pull/24404,
  https://github.com/ggml-org/llama.cpp/issues/29310);
- Mesa's shader compiler does not coalesce some of llama.cpp's quantized loads on ANV (it cannot
  bound an index through a ternary), so the Q4_K/Q5_K matrix kernels issue extra memory
  instructions on Linux that the Windows compiler merges
  (https://github.com/ggml-org/llama.cpp/pull/21751, April 2026);
- the gap persists in 2026 builds: an A770 decodes llama3-8b Q4_K_M at 32 t/s on Linux against 52
  t/s on Windows at build 8191 (https://github.com/ggml-org/llama.cpp/pull/19988, comment of
  2026-03-03), and a Battlemage owner finds "Vulkan in Windows is so much faster than either SYCL
  or Vulkan under Linux" (https://github.com/ggml-org/llama.cpp/issues/22413).

The model has no driver physics, so this module fits one factor on the predicted rate per
``kind|vendor|backend|os`` from the calibration rows whose source states the OS (``os`` column, or
the row's notes: "Windows 11 …", "Ubuntu …, Mesa …", "RADV", a Raspberry Pi host). A factor is
measured within devices: only devices run on two or more operating systems inform it, and it needs
at least :data:`MIN_DEVICES` of them (a measured contrast, not one device's quirk); the base fit
then sees every row of that OS normalised by its factor. A prediction for an unknown OS gets no
factor: its band is widened to reach every fitted OS factor of its group instead
(:func:`widen_unknown`), so "unknown" never guesses a driver.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from rigfit.figures import Figure

if TYPE_CHECKING:  # typing only: calibration imports the speed package
    from rigfit.estimate.calibration import FitRow

#: Operating systems a prediction can name (``--os`` / the ``os`` column); "unknown" = not given.
OS_CHOICES = ("windows", "linux", "macos", "unknown")
UNKNOWN = "unknown"
#: Vendors whose GPU backends get OS factors (CPU and Apple rows have no driver contrast).
GPU_VENDORS = ("intel", "amd", "nvidia")
#: Devices an OS needs within its (kind, vendor, backend) before it gets a factor.
MIN_DEVICES = 2
#: Kinds that get OS factors. Decode only: the driver gap of the paired PR 14001 runs is 2.5–3.1×
#: on all three GPUs in decode but 1.17×, 1.21× and 2.9× in prefill (a device-specific gap, the
#: A770's), and a prefill factor made Intel's leave-one-device-out prefill MdAPE worse (30.9 % →
#: 33.3 % on 3,248 rows, 2026-12), so prefill keeps the device-agnostic model.
FACTOR_KINDS = ("tg",)
#: Shrinkage of a factor towards 1 with few devices: log factor × d / (d + SHRINK_DEVICES).
#: Chosen leave-one-device-out with benchmarks/accuracy.py (3,248 rows, 2026-12, an earlier
#: fit that pooled devices instead of pairing them): 0 gave Intel decode MdAPE 41.8 %, 1.0 gave
#: 44.7 %. A factor rests on 3 devices today (2 when one of them is held out).
SHRINK_DEVICES = 0.0

_OS_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("windows", re.compile(r"\bwindows\b|\bwin ?1[01]\b|\.exe\b", re.IGNORECASE)),
    (
        "linux",
        re.compile(
            r"\blinux\b|\bubuntu\b|\bdebian\b|\bfedora\b|\barch\b|\bmesa\b|\bradv\b|\banv\b|"
            r"\bamdvlk\b|raspberry pi",
            re.IGNORECASE,
        ),
    ),
    ("macos", re.compile(r"\bmacos\b|\bos x\b", re.IGNORECASE)),
)

#: The driver a (vendor, backend, os) runs on, for labels (facts of the driver stacks: Mesa's ANV
#: and RADV are the Linux Vulkan drivers of Intel and AMD GPUs, https://docs.mesa3d.org/drivers/anv.html,
#: https://docs.mesa3d.org/drivers/radv.html; ANV does not exist on Windows,
#: https://github.com/pal1000/mesa-dist-win/issues/208).
DRIVERS: dict[tuple[str, str, str], str] = {
    ("intel", "Vulkan", "linux"): "Mesa ANV",
    ("intel", "Vulkan", "windows"): "Intel Windows driver",
    ("amd", "Vulkan", "linux"): "Mesa RADV or AMDVLK",
    ("amd", "Vulkan", "windows"): "AMD Adrenalin driver",
    ("nvidia", "Vulkan", "linux"): "NVIDIA driver",
    ("nvidia", "Vulkan", "windows"): "NVIDIA driver",
    ("intel", "SYCL", "linux"): "oneAPI Level Zero",
    ("intel", "SYCL", "windows"): "oneAPI Level Zero",
}
_OS_NAMES = {"windows": "Windows", "linux": "Linux", "macos": "macOS", "unknown": "an unknown OS"}


def normalise_os(text: str | None) -> str:
    """'Windows 11' → 'windows', 'Ubuntu' → 'linux', '' → 'unknown' (never raises)."""
    t = (text or "").strip().lower()
    if t in OS_CHOICES:
        return t
    if t in ("mac", "darwin", "osx"):
        return "macos"
    found = {name for name, rx in _OS_WORDS if rx.search(t)}
    return found.pop() if len(found) == 1 else UNKNOWN


def os_of_row(row: Mapping[str, object]) -> str:
    """The OS a ground-truth or cases row states: its ``os`` column, else its notes when they name
    exactly one OS (a Windows driver, or Linux / Ubuntu / Mesa / RADV / a Raspberry Pi host), else
    'unknown'."""
    explicit = str(row.get("os") or "").strip()
    if explicit:
        return normalise_os(explicit)
    return normalise_os(str(row.get("notes") or ""))


def factor_key(kind: str, vendor: str, backend: str, os_name: str) -> str:
    return f"{'tg' if kind == 'pg' else kind}|{vendor}|{backend}|{os_name}"


def label(vendor: str, backend: str, os_name: str) -> str:
    """'Vulkan on Linux (Mesa ANV)'; 'Vulkan on an unknown OS' when none is given."""
    driver = DRIVERS.get((vendor, backend, os_name))
    return f"{backend} on {_OS_NAMES.get(os_name, os_name)}" + (f" ({driver})" if driver else "")


def _row_os(r: FitRow) -> str:
    settings = getattr(r.ref, "settings", None)
    return str(getattr(settings, "os", UNKNOWN) or UNKNOWN)


def _vendor(r: FitRow) -> str:
    from rigfit.estimate.speed.bands import vendor_of

    return vendor_of(r.hardware_kind)


def fit_factors(
    rows: Sequence[FitRow], coefs: Mapping[str, float], predict_time: Callable[[Mapping, Mapping], float]
) -> dict[str, dict]:
    """Factors {key: {log, devices, rows}} from in-sample log(observed/predicted) of rows whose OS
    is known, measured WITHIN devices: for every device of a (kind, vendor, backend) group that was
    run on two or more operating systems, each OS's median residual minus that device's mean over
    its OSes; an OS's factor is the median of these over at least MIN_DEVICES such devices. A
    device seen on one OS only says nothing about the OS (its offset is the device's own), and the
    factors of a group average to 1, so the base model (and an unknown OS) sits between them."""
    import numpy as np  # lazy: calibration only; importing numpy would cost every plan ~0.1 s

    per: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for r in rows:
        os_name, vendor = _row_os(r), _vendor(r)
        kind = "tg" if r.kind == "pg" else r.kind
        if os_name == UNKNOWN or vendor not in GPU_VENDORS or kind not in FACTOR_KINDS:
            continue
        t = predict_time(coefs, r.features)
        if not (t > 0 and r.time > 0):
            continue
        group = factor_key(r.kind, vendor, r.backend, "")[:-1]  # 'tg|intel|Vulkan'
        per[group][r.device][os_name].append(math.log(t / r.time))
    out: dict[str, dict] = {}
    for group, devs in per.items():
        paired = {
            dev: {o: float(np.median(v)) for o, v in by_os.items()}
            for dev, by_os in devs.items()
            if len(by_os) >= 2
        }
        for os_name in sorted({o for m in paired.values() for o in m}):
            diffs = [m[os_name] - float(np.mean(list(m.values()))) for m in paired.values() if os_name in m]
            d = len(diffs)
            if d < MIN_DEVICES:
                continue
            out[f"{group}|{os_name}"] = {
                "log": round(float(np.median(diffs)) * d / (d + SHRINK_DEVICES), 6),
                "devices": d,
                "rows": sum(len(by_os[os_name]) for by_os in devs.values() if os_name in by_os),
            }
    return out


def normalised(rows: Sequence[FitRow], factors: Mapping[str, dict]) -> list[FitRow]:
    """Rows with their observed rate divided by their OS factor (what the base model should fit)."""
    out = []
    for r in rows:
        f = factors.get(factor_key(r.kind, _vendor(r), r.backend, _row_os(r)))
        out.append(replace(r, observed_tps=r.observed_tps / math.exp(f["log"])) if f else r)
    return out


def fit_with_os(
    rows: Sequence[FitRow],
    fit: Callable[[list[FitRow]], dict[str, float]],
    predict_time: Callable[[Mapping, Mapping], float],
) -> tuple[dict[str, float], dict[str, dict]]:
    """(coefficients, OS factors): fit, read the factors off the residuals, refit on the rows
    normalised by them, and read the factors again against the refitted coefficients."""
    coefs = fit(list(rows))
    factors = fit_factors(rows, coefs, predict_time)
    if not factors:
        return coefs, {}
    coefs = fit(normalised(rows, factors))
    return coefs, fit_factors(rows, coefs, predict_time) or factors


def factor(C: Mapping, kind: str, vendor: str, backend: str | None, os_name: str | None) -> float:
    """The multiplier on a predicted tokens/s for this OS (1 when none was fitted or OS unknown)."""
    f = (C.get("os_factors") or {}).get(factor_key(kind, vendor, backend or "", os_name or UNKNOWN))
    return math.exp(float(f["log"])) if f else 1.0


def widen_unknown(
    C: Mapping, kind: str, vendor: str, backend: str | None, os_name: str | None, lo: float, hi: float
) -> tuple[float, float]:
    """A band for an unknown OS stretched to every fitted OS factor of its group (unchanged when
    the OS is known or the group has no factors)."""
    if (os_name or UNKNOWN) != UNKNOWN:
        return lo, hi
    head = f"{'tg' if kind == 'pg' else kind}|{vendor}|{backend or ''}|"
    logs = [float(v["log"]) for k, v in (C.get("os_factors") or {}).items() if k.startswith(head)]
    if not logs:
        return lo, hi
    return lo * math.exp(min(0.0, min(logs))), hi * math.exp(max(0.0, max(logs)))


def widen_figure(
    C: Mapping, kind: str, vendor: str, backend: str | None, os_name: str | None, fig: Figure
) -> Figure:
    """``fig`` with its band widened by :func:`widen_unknown` (unchanged for a known OS)."""
    if fig.value is None or fig.low is None or fig.high is None:
        return fig
    lo, hi = widen_unknown(C, kind, vendor, backend, os_name, fig.low, fig.high)
    return replace(fig, low=min(lo, fig.value), high=max(hi, fig.value))


def os_notes(C: Mapping, vendor: str, backend: str | None, os_name: str | None) -> tuple[str, ...]:
    """One note naming the OS / driver a speed estimate is for, where that changes anything
    (a fitted factor, or a band widened because the OS was not given)."""
    factors = C.get("os_factors") or {}
    mid = f"|{vendor}|{backend or ''}|"
    if not any(mid in k for k in factors):
        return ()
    parts = [
        f"{'prefill' if kind == 'pp' else 'decode'} {describe(C, kind, vendor, backend, os_name)}"
        for kind in ("pp", "tg")
        if any(k.startswith(kind + mid) for k in factors)
    ]
    return ("speed for " + label(vendor, backend or "", os_name or UNKNOWN) + ": " + "; ".join(parts),)


def describe(C: Mapping, kind: str, vendor: str, backend: str | None, os_name: str | None) -> str:
    """How a prediction used the OS: 'Vulkan on Linux (Mesa ANV): ×0.42 (fitted on 3 devices)'."""
    os_name = os_name or UNKNOWN
    be = backend or ""
    text = label(vendor, be, os_name)
    factors = C.get("os_factors") or {}
    f = factors.get(factor_key(kind, vendor, be, os_name))
    if f:
        return f"{text}: ×{math.exp(float(f['log'])):.2f} (fitted on {f['devices']} devices)"
    head = f"{'tg' if kind == 'pg' else kind}|{vendor}|{be}|"
    if os_name == UNKNOWN and any(k.startswith(head) for k in factors):
        return f"{text}: band widened to cover every OS (give --os)"
    return text


__all__ = [
    "DRIVERS",
    "OS_CHOICES",
    "UNKNOWN",
    "describe",
    "factor",
    "factor_key",
    "fit_factors",
    "fit_with_os",
    "label",
    "normalise_os",
    "normalised",
    "os_notes",
    "os_of_row",
    "widen_figure",
    "widen_unknown",
]
