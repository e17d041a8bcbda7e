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
from rigfit.safeio import clean_text, open_regular, read_text_regular

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


#: Largest tensor dimension or byte offset believed [elements or bytes]: 2^53, beyond which a JSON
#: number is no exact integer (and far beyond any checkpoint: the largest are under 2^41 bytes).
MAX_HEADER_INT = 2**53
#: Largest ``model.safetensors.index.json`` read [bytes]; real ones are under 1 MB.
MAX_INDEX_BYTES = 64 * 1024 * 1024


def _header_int(v: object) -> int:
    """A shape entry or offset as an int; a float, bool, text or absurd value raises ValueError."""
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_HEADER_INT:
        raise ValueError(v)
    return v


def _load_json(data: bytes | str, path: str, what: str) -> object:
    """json.loads with every failure (bad UTF-8, bad syntax, nesting too deep, 5,000-digit
    numbers) as one BadFileError; the message never quotes the file's bytes."""
    try:
        return json.loads(data)
    except RecursionError:
        raise BadFileError(path, f"{what} is nested too deeply to be a real one") from None
    except UnicodeDecodeError:
        raise BadFileError(path, f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadFileError(
            path, f"{what} is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError:
        raise BadFileError(path, f"{what} holds a number too long to read") from None


def read_safetensors_header(path: str | os.PathLike) -> list[TensorInfo]:
    """Tensor table of one ``.safetensors`` file (HF names; shape in GGUF order, ne0 first)."""
    spath = clean_text(str(path))
    with open_regular(path, "safetensors file") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(8)
        if len(head) < 8:
            raise BadFileError(spath, "truncated safetensors file (no header length)")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise BadFileError(spath, f"safetensors header claims {n:,} bytes in a {size:,}-byte file")
        raw = fh.read(n)
    header = _load_json(raw, spath, "safetensors header")
    if not isinstance(header, dict):
        raise BadFileError(spath, "safetensors header is not a JSON object")
    data_size = size - 8 - n
    out = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shown = clean_text(name, 80)
        try:
            dtype = info["dtype"]
            shape = tuple(_header_int(d) for d in info["shape"])
            begin, end = (_header_int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise BadFileError(spath, f"tensor {shown!r} has a malformed header entry") from None
        if not isinstance(dtype, str) or dtype not in DTYPES:
            raise BadFileError(spath, f"tensor {shown!r} has unknown dtype {clean_text(dtype, 20)!r}")
        if not 0 <= begin <= end <= data_size:
            raise BadFileError(
                spath,
                f"tensor {shown!r}: offsets {begin}..{end} outside the "
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


def _shard_path(folder: Path, index: Path, name: object) -> Path:
    """A ``weight_map`` shard name as a file inside ``folder``; anything else is refused
    (a path such as ``../../etc/passwd`` must not make rigfit read outside the model folder)."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or name in (".", ".."):
        raise BadFileError(
            clean_text(str(index)),
            f"weight_map names the shard {clean_text(name, 60)!r}, not a file name in the model folder",
            "The index is damaged; download it again.",
        )
    path = folder / name
    try:
        inside = path.resolve().parent == folder.resolve()
    except (OSError, RuntimeError):  # symlink loop
        inside = False
    if not inside:
        raise BadFileError(
            clean_text(str(index)),
            f"shard {clean_text(name, 60)!r} points outside the model folder; not read",
            "The index is damaged; download it again.",
        )
    return path


def read_safetensors_dir(folder: str | os.PathLike) -> list[TensorInfo]:
    """All tensors of a checkpoint folder (sharded via the index, or every ``*.safetensors``)."""
    d = Path(folder)
    index = d / "model.safetensors.index.json"
    files: list[Path]
    if index.is_file() or index.exists():
        text = read_text_regular(index, "safetensors index", max_bytes=MAX_INDEX_BYTES, errors="strict")
        doc = _load_json(text, clean_text(str(index)), "safetensors index")
        wm = doc.get("weight_map", {}) if isinstance(doc, dict) else None
        if not isinstance(wm, dict):
            raise BadFileError(clean_text(str(index)), "no weight_map object in the safetensors index")
        names = sorted({v if isinstance(v, str) else repr(v) for v in wm.values()})
        files = [_shard_path(d, index, n) for n in names]
        missing = [f.name for f in files if not f.exists()]
        if missing:
            raise BadFileError(
                clean_text(str(index)),
                f"shard(s) missing: {clean_text(', '.join(missing[:4]), 200)}",
                "Download the complete checkpoint, or pass config.json alone.",
            )
    else:
        files = sorted(d.glob("*.safetensors"))
    out: list[TensorInfo] = []
    for f in files:
        out.extend(read_safetensors_header(f))
    return out
