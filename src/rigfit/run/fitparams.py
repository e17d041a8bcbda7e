"""llama.cpp's own fit next to rigfit's plan (``rigfit run --compare-fit``).

llama.cpp ships ``llama-fit-params`` (tools/fit-params/fit-params.cpp:
https://github.com/ggml-org/llama.cpp/blob/master/tools/fit-params/fit-params.cpp). It dry-runs the
allocation of a GGUF on this machine's devices (``llama_params_fit``, the logic behind
``llama-server --fit on``), adjusts the arguments the user left unset, and prints the fitted ones
as one line on stdout::

    -c 4096 -ngl 33
    -c 8192 -ngl 99 -ts 20,13 -ot "blk\\.3\\.ffn_(up|down|gate)_exps=CPU"

(``-ts`` only with several devices, ``-ot`` only when it keeps tensors in host memory); its log
goes to stderr. When nothing fits it logs "failed to fit CLI arguments to free memory" and exits 1.

rigfit runs it on the same file with the same settings the user fixed (context, flash attention,
KV type, slots, batch sizes, threads, and ``-ngl``/``-ts``/MoE options when given), so what it
chooses (layers on the GPU, split, tensors kept in RAM) is comparable with the plan's choice.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from rigfit.errors import RigfitError
from rigfit.run.launch import LaunchSpec
from rigfit.safeio import clean_text

#: The tool's name in llama.cpp builds (CMake target llama-fit-params).
FIT_PARAMS_BIN = "llama-fit-params"


@dataclass(frozen=True)
class FitChoice:
    """What llama-fit-params chose: n_ctx (``-c``) [tokens], n_gpu_layers (``-ngl``), tensor_split
    (``-ts``, None when it printed none) and overrides (``-ot`` rules, ``REGEX=BUFFER_TYPE``)."""

    n_ctx: int
    n_gpu_layers: int
    tensor_split: tuple[float, ...] | None = None
    overrides: tuple[str, ...] = ()


def find_fit_params(given: str | None = None) -> str | None:
    """The llama-fit-params executable: ``given`` (a path or a name on PATH; an error when it is not
    found), else ``llama-fit-params`` on PATH, else None."""
    if given:
        found = shutil.which(given)
        if found is None:
            raise RigfitError(
                f"--fit-params-bin {given}: no such executable.",
                "Give the path of llama.cpp's llama-fit-params, or leave it out to use the one on PATH.",
            )
        return found
    return shutil.which(FIT_PARAMS_BIN)


def fit_params_args(spec: LaunchSpec, binary: str, settings: Any = None) -> list[str]:
    """The llama-fit-params command for the same file and settings as ``spec``.

    The context and every setting the plan does not choose are passed; the layer count, the split
    and tensor placement are left to llama.cpp unless the user fixed them (``settings``: the
    plan's :class:`~rigfit.plantypes.PlanSettings`; None = leave all three to llama.cpp).
    """
    a = [binary, "-m", spec.model_path, "-c", str(spec.n_ctx), "-fa", spec.flash_attn]
    a += ["-ctk", spec.type_k, "-ctv", spec.type_v, "-np", str(spec.n_parallel)]
    a += ["-ub", str(spec.n_ubatch), "-b", str(spec.n_batch)]
    if spec.kv_unified:
        a.append("-kvu")
    if spec.swa_full:
        a.append("--swa-full")
    if spec.no_kv_offload:
        a.append("-nkvo")
    if spec.threads:
        a += ["-t", str(spec.threads)]
    if settings is not None:
        if settings.ngl is not None:
            a += ["-ngl", str(spec.n_gpu_layers)]
        if settings.tensor_split:
            a += ["-ts", ",".join(f"{x:g}" for x in settings.tensor_split)]
        if settings.cpu_moe:
            a.append("--cpu-moe")
        elif settings.n_cpu_moe:
            a += ["--n-cpu-moe", str(settings.n_cpu_moe)]
    return a


def parse_fit_output(text: str) -> FitChoice:
    """The fitted arguments llama-fit-params printed (the last stdout line starting with ``-c``).
    Raises ValueError when there is none or it cannot be read."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("-c ")]
    if not lines:
        raise ValueError("no fitted arguments ('-c N -ngl N …') on its standard output")
    words = shlex.split(lines[-1])
    values: dict[str, str] = {}
    for flag, value in zip(words[::2], words[1::2], strict=False):
        values[flag] = value
    if "-c" not in values or "-ngl" not in values:
        raise ValueError(f"cannot read {clean_text(lines[-1], 120)!r}")
    split = tuple(float(x) for x in values["-ts"].split(",")) if "-ts" in values else None
    overrides = tuple(r for r in values.get("-ot", "").split(",") if r)
    return FitChoice(int(values["-c"]), int(values["-ngl"]), split, overrides)


@dataclass(frozen=True)
class FitComparison:
    """One llama-fit-params run: the command, its choice (None when it failed) and why it failed."""

    command: list[str]
    choice: FitChoice | None
    problem: str | None = None


def run_fit_params(args: list[str], timeout_s: float = 300.0) -> FitComparison:
    """Run llama-fit-params; its choice, or the reason there is none (it found no fit, crashed,
    timed out or printed something unreadable)."""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return FitComparison(args, None, f"no answer within {timeout_s:.0f} s")
    except OSError as exc:
        return FitComparison(args, None, f"could not run it ({exc.strerror or exc})")
    if out.returncode != 0:
        failed = "failed to fit" in out.stderr
        last = next((ln.strip() for ln in reversed(out.stderr.splitlines()) if ln.strip()), "")
        why = (
            "no setting fits in free memory"
            if failed
            else f"exit code {out.returncode}: {clean_text(last, 160)}"
        )
        return FitComparison(args, None, why)
    try:
        return FitComparison(args, parse_fit_output(out.stdout))
    except ValueError as exc:
        return FitComparison(args, None, str(exc))


def comparison_rows(spec: LaunchSpec, fit: FitChoice) -> list[tuple[str, str, str, bool]]:
    """(setting, rigfit's value, llama-fit-params' value, same?) for context, GPU layers, split and
    tensors kept in RAM (``-ot``)."""
    ours_split = ",".join(f"{x:g}" for x in spec.tensor_split) if spec.tensor_split else "—"
    theirs_split = ",".join(f"{x:g}" for x in fit.tensor_split) if fit.tensor_split else "—"
    # one device: neither prints a split; several: the same shares, however scaled
    split_same = not (spec.tensor_split and fit.tensor_split) or _same_shares(
        spec.tensor_split, fit.tensor_split
    )
    return [
        ("context (-c)", f"{spec.n_ctx:,}", f"{fit.n_ctx:,}", spec.n_ctx == fit.n_ctx),
        (
            "GPU layers (-ngl)",
            str(spec.n_gpu_layers),
            str(fit.n_gpu_layers),
            spec.n_gpu_layers == fit.n_gpu_layers,
        ),
        ("tensor split (-ts)", ours_split, theirs_split, split_same),
        (
            "tensor overrides (-ot)",
            _rules(spec.overrides),
            _rules(fit.overrides),
            spec.overrides == fit.overrides,
        ),
    ]


def _same_shares(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> bool:
    if not a or not b:
        return a == b
    n = max(len(a), len(b))
    a2, b2 = list(a) + [0.0] * (n - len(a)), list(b) + [0.0] * (n - len(b))
    sa, sb = sum(a2) or 1.0, sum(b2) or 1.0
    return all(abs(x / sa - y / sb) < 0.01 for x, y in zip(a2, b2, strict=True))


def _rules(rules: tuple[str, ...]) -> str:
    if not rules:
        return "none"
    return f"{len(rules)} rule(s): {rules[0]}" + (" …" if len(rules) > 1 else "")


__all__ = [
    "FIT_PARAMS_BIN",
    "FitChoice",
    "FitComparison",
    "comparison_rows",
    "find_fit_params",
    "fit_params_args",
    "parse_fit_output",
    "run_fit_params",
]
