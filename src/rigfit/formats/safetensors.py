"""safetensors headers: tensor names, dtypes, shapes and exact byte sizes, without the data.

Format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length ``N``,
then ``N`` bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": …}``,
then the data. Sharded checkpoints add ``model.safetensors.index.json`` (``weight_map``:
tensor name -> shard file). Like the GGUF reader, every length is checked against the file
before it is read; problems become :class:`~rigfit.errors.BadFileError`.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from rigfit.catalog.arch import TensorInfo
from rigfit.errors import BadFileError

#: The reference implementation refuses headers over 100 MB (safetensors/src/tensor.rs MAX_HEADER_SIZE).
MAX_HEADER_BYTES = 100_000_000

#: safetensors dtype -> (GGML type name used in TensorInfo, bytes per element). Types ggml has no
#: name for (FP8, unsigned ints, bool) keep their safetensors spelling.
DTYPES: dict[str, tuple[str, float]] = {
    "F64": ("F64", 8),
    "F32": ("F32", 4),
    "F16": ("F16", 2),
    "BF16": ("BF16", 2),
    "I64": ("I64", 8),
    "I32": ("I32", 4),
    "I16": ("I16", 2),
    "I8": ("I8", 1),
    "U64": ("U64", 8),
    "U32": ("U32", 4),
    "U16": ("U16", 2),
    "U8": ("U8", 1),
    "BOOL": ("BOOL", 1),
    "F8_E4M3": ("F8_E4M3", 1),
    "F8_E5M2": ("F8_E5M2", 1),
    "F8_E8M0": ("F8_E8M0", 1),
    "F4": ("F4", 0.5),
    "F6_E2M3": ("F6_E2M3", 0.75),
    "F6_E3M2": ("F6_E3M2", 0.75),
}


def read_safetensors_header(path: str | os.PathLike) -> list[TensorInfo]:
    """Tensor table of one ``.safetensors`` file (HF names; shape in GGUF order, ne0 first)."""
    spath = str(path)
    try:
        with open(spath, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(8)
            if len(head) < 8:
                raise BadFileError(spath, "truncated safetensors file (no header length)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER_BYTES or n > size - 8:
                raise BadFileError(spath, f"safetensors header claims {n:,} bytes in a {size:,}-byte file")
            raw = fh.read(n)
    except FileNotFoundError:
        raise BadFileError(spath, "no such file") from None
    except IsADirectoryError:
        raise BadFileError(spath, "is a directory, not a safetensors file") from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadFileError(spath, f"safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise BadFileError(spath, "safetensors header is not a JSON object")
    data_size = size - 8 - n
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = info["dtype"]
            shape = tuple(int(d) for d in info["shape"])
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise BadFileError(spath, f"tensor {name!r} has a malformed header entry") from None
        if dtype not in DTYPES:
            raise BadFileError(spath, f"tensor {name!r} has unknown dtype {dtype!r}")
        if any(d < 0 for d in shape) or not 0 <= begin <= end <= data_size:
            raise BadFileError(
                spath,
                f"tensor {name!r}: offsets {begin}..{end} outside the "
                f"{data_size:,}-byte data section (truncated file?)",
            )
        gtype, _ = DTYPES[dtype]
        out.append(
            TensorInfo(
                name=name,
                shape=tuple(reversed(shape)),
                ggml_type=gtype,
                n_bytes=end - begin,
                offset=8 + n + begin,
            )
        )
    return out


def read_safetensors_dir(folder: str | os.PathLike) -> list[TensorInfo]:
    """All tensors of a checkpoint folder (sharded via the index, or every ``*.safetensors``)."""
    d = Path(folder)
    index = d / "model.safetensors.index.json"
    files: list[Path]
    if index.is_file():
        try:
            wm = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        except (OSError, json.JSONDecodeError, AttributeError) as exc:
            raise BadFileError(index, f"cannot read the safetensors index ({exc})") from None
        names = sorted(set(wm.values())) if isinstance(wm, dict) else []
        files = [d / f for f in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise BadFileError(
                index,
                f"shard(s) missing: {', '.join(missing[:4])}",
                "Download the complete checkpoint, or pass config.json alone.",
            )
    else:
        files = sorted(d.glob("*.safetensors"))
    out: list[TensorInfo] = []
    for f in files:
        out.extend(read_safetensors_header(f))
    return out
