"""Fast, defensive GGUF header reader: metadata and the full tensor table, no tensor data.

Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (GGUF v2/v3: 64-bit counts and
lengths; v1 used 32-bit ones and is rejected). The rules below mirror llama.cpp's own loader,
``ggml/src/gguf.cpp`` ``gguf_init_from_file_impl``: non-empty unique keys, no nested arrays,
``general.alignment`` a u32 power of two, 1–4 dims, known tensor types, rows made of whole
blocks, aligned offsets inside the data section, unique tensor names.

Why not ``gguf.GGUFReader``: it builds numpy views for every array element, which for a
262k-token vocabulary takes ~10–20 s. Here scalars and short arrays are decoded, long arrays
are *skipped* (numeric ones in O(1), string ones by walking their length prefixes) and kept as
:class:`LazyArray` handles that read their elements only on request.

Bad input never crashes or hangs: every count and length is checked against the bytes that
are really left in the file before anything is allocated or looped over, and every problem
becomes one :class:`~rigfit.errors.BadFileError` naming the file and the problem.
"""

from __future__ import annotations

import mmap
import os
import re
import stat
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any, BinaryIO

from rigfit.catalog.arch import TensorInfo
from rigfit.catalog.quant import GGML_TYPES, file_type_by_id
from rigfit.errors import BadFileError

GGUF_MAGIC = b"GGUF"
GGUF_DEFAULT_ALIGNMENT = 32  # gguf.cpp GGUF_DEFAULT_ALIGNMENT
GGML_MAX_DIMS = 4  # ggml.h
GGML_MAX_NAME = 64  # ggml.h; gguf.cpp rejects tensor names of GGML_MAX_NAME bytes or more
#: Metadata strings longer than this stay on disk as LazyString (chat templates are ~10–100 KB).
EAGER_STRING_MAX = 1 << 20
MAX_KEY_LEN = 65535  # gguf.md: keys are at most 2^16-1 bytes
#: Arrays at most this long are decoded eagerly (per-layer hparams are ≤ 512 long).
EAGER_ARRAY_MAX = 4096
#: No real GGUF array is near this long (the largest are tokenizer merges, ~1M); a longer
#: claim is treated as corruption rather than walked.
MAX_ARRAY_LEN = 1 << 24

# GGUF value types (gguf.md)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR_FMT = {
    UINT8: "B",
    INT8: "b",
    UINT16: "H",
    INT16: "h",
    UINT32: "I",
    INT32: "i",
    FLOAT32: "f",
    BOOL: "?",
    UINT64: "Q",
    INT64: "q",
    FLOAT64: "d",
}
_SCALAR_SIZE = {t: struct.calcsize(f) for t, f in _SCALAR_FMT.items()}
TYPE_NAMES = {
    UINT8: "u8",
    INT8: "i8",
    UINT16: "u16",
    INT16: "i16",
    UINT32: "u32",
    INT32: "i32",
    FLOAT32: "f32",
    BOOL: "bool",
    STRING: "str",
    ARRAY: "arr",
    UINT64: "u64",
    INT64: "i64",
    FLOAT64: "f64",
}

_NONZERO = re.compile(rb"[^\x00]")
_ZEROS = bytes(1 << 20)
_SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True)
class LazyArray:
    """A long GGUF array whose elements were skipped; ``len()`` is free, ``load()`` reads them.

    path: file holding it. item_type: GGUF value type of the elements. offset: byte offset of
    the first element. nbytes: bytes the elements occupy. byte_order: "<" or ">".
    """

    path: str
    item_type: int
    count: int
    offset: int
    nbytes: int
    byte_order: str = "<"

    def __len__(self) -> int:
        return self.count

    def load(self, limit: int | None = None) -> list:
        """Read the elements (only the first ``limit``, if given). The byte range was validated
        when the header was read, so this reads at most ``nbytes``."""
        n = self.count if limit is None else max(0, min(limit, self.count))
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            if self.item_type != STRING:
                size = _SCALAR_SIZE[self.item_type]
                return list(
                    struct.unpack(self.byte_order + _SCALAR_FMT[self.item_type] * n, fh.read(n * size))
                )
            out = []
            length = struct.Struct(self.byte_order + "Q")
            for _ in range(n):  # buffered reads: cheap, and only as far as needed
                (ln,) = length.unpack(fh.read(8))
                out.append(fh.read(ln).decode("utf-8", "replace"))
            return out

    def __repr__(self) -> str:
        return f"LazyArray({TYPE_NAMES.get(self.item_type, '?')}[{self.count}])"


@dataclass(frozen=True)
class LazyString:
    """A metadata string too long to decode eagerly (> EAGER_STRING_MAX bytes); ``load()`` reads it."""

    path: str
    offset: int
    nbytes: int

    def __len__(self) -> int:
        return self.nbytes

    def load(self) -> str:
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            return fh.read(self.nbytes).decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"LazyString({self.nbytes:,} bytes)"


@dataclass(frozen=True)
class GGUFPart:
    """One physical file of a (possibly split) model."""

    path: str
    file_size: int
    data_offset: int
    n_tensors: int


@dataclass
class GGUFFile:
    """What a GGUF header says: metadata and the tensor table, without tensor data.

    metadata: key -> value (int/float/bool/str, tuple for short arrays, LazyArray for long ones).
    types: key -> GGUF value type name ("u32", "str", "arr[str]" …).
    tensors: every tensor of every split part, in file order; offsets are relative to the
        data section of the part named in ``tensor_part``.
    """

    path: str
    version: int
    byte_order: str
    alignment: int
    metadata: dict[str, Any]
    types: dict[str, str]
    tensors: tuple[TensorInfo, ...]
    parts: tuple[GGUFPart, ...]
    tensor_part: tuple[int, ...] = field(default=(), repr=False)

    # --- convenience -------------------------------------------------------------------------
    @property
    def architecture(self) -> str | None:
        v = self.metadata.get("general.architecture")
        return v if isinstance(v, str) else None

    @property
    def file_type(self) -> str | None:
        """llama.cpp file type name of ``general.file_type`` ("Q4_K_M"); None if absent."""
        ft = self.metadata.get("general.file_type")
        if not isinstance(ft, int) or isinstance(ft, bool):
            return None
        known = file_type_by_id(ft)
        return known.name if known else f"unknown({ft})"

    @property
    def tensor_bytes(self) -> int:
        """Exact bytes of all tensor data [B]."""
        return sum(t.n_bytes for t in self.tensors)

    @property
    def n_params(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def file_size(self) -> int:
        return sum(p.file_size for p in self.parts)

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)

    def arch_key(self, suffix: str, default: Any = None) -> Any:
        """``{general.architecture}.{suffix}``, e.g. ``arch_key("block_count")``."""
        return self.metadata.get(f"{self.architecture}.{suffix}", default)

    def array_len(self, key: str) -> int | None:
        v = self.metadata.get(key)
        if isinstance(v, (tuple, list, LazyArray)):
            return len(v)
        return None


class _Reader:
    """Bounds-checked little/big-endian reads from a memory map of one file."""

    def __init__(self, path: str, buf: Any, size: int) -> None:
        self.path = path
        self.buf = buf
        self.size = size
        self.pos = 0
        self.bo = "<"

    def fail(self, problem: str) -> BadFileError:
        return BadFileError(self.path, problem, "Is this a complete GGUF file? Try re-downloading it.")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise self.fail(
                f"truncated or corrupt GGUF header: {what} needs {n:,} bytes at offset "
                f"{self.pos:,} but the file has {self.size:,} bytes"
            )

    def scalar(self, vtype: int, what: str) -> Any:
        n = _SCALAR_SIZE[vtype]
        self.need(n, what)
        (v,) = struct.unpack_from(self.bo + _SCALAR_FMT[vtype], self.buf, self.pos)
        self.pos += n
        return v

    def u32(self, what: str) -> int:
        return self.scalar(UINT32, what)

    def u64(self, what: str) -> int:
        return self.scalar(UINT64, what)

    def string(self, what: str, max_len: int | None = None) -> str:
        n = self.u64(f"length of {what}")
        if max_len is not None and n > max_len:
            raise self.fail(f"{what} claims a length of {n:,} bytes (at most {max_len:,} allowed)")
        self.need(n, what)
        raw = bytes(self.buf[self.pos : self.pos + n])
        self.pos += n
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("utf-8", "replace")

    def string_value(self, key: str) -> str | LazyString:
        """A metadata string; one longer than EAGER_STRING_MAX stays on disk (LazyString)."""
        start = self.pos
        n = self.u64(f"length of {key!r}")
        if n <= EAGER_STRING_MAX:
            self.pos = start
            return self.string(f"value of {key!r}")
        self.need(n, f"value of {key!r}")
        self.pos += n
        return LazyString(self.path, start + 8, n)

    def skip_strings(self, count: int, what: str) -> None:
        """Walk ``count`` length-prefixed strings (the only way to find where they end).

        A run of empty strings (zero bytes, e.g. a corrupt count walking into padding or zeroed
        data) is skipped in one C-speed search instead of 8 bytes per Python iteration, so no
        file can make this loop run longer than its distinct non-empty strings.
        """
        if self.bo == _NATIVE_BO:
            pos = _skip_strings_views(self.buf, self.pos, count, self.size)
        else:
            pos = _skip_strings_struct(self.buf, self.pos, count, self.size, self.bo)
        if pos > self.size:
            raise self.fail(
                f"truncated or corrupt GGUF header: the strings of {what} run past the end "
                f"of the file ({self.size:,} bytes)"
            )
        self.pos = pos


#: ``memoryview.cast("Q")`` reads native-endian words: the fast walk needs a file in host order.
_NATIVE_BO = "<" if sys.byteorder == "little" else ">"


def _skip_strings_views(buf: Any, pos: int, count: int, end: int) -> int:
    """End offset of ``count`` strings from ``pos`` (> ``end`` if they run past it).

    Reads each 8-byte length as one item of a ``memoryview.cast("Q")`` of the buffer shifted by
    ``pos % 8`` (eight zero-copy views, one per residue): ~70 % of the time of
    ``struct.unpack_from`` per string (15 vs 21 ms for Gemma 3's 262,144 tokens), and exact
    (the whole 64-bit length is read, never guessed).
    Eight strings per loop turn; eight empty ones in a row hand over to the zero-run skip, so
    (as in the struct walk) zero bytes never cost a Python iteration each.
    """
    mv = memoryview(buf)
    views = tuple(mv[r : r + (end - r) // 8 * 8].cast("Q") for r in range(8))
    i = 0
    try:
        while i < count:
            for k in range((count - i) >> 3):  # noqa: B007 - k is used after the loop
                start = pos
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                pos += 8 + views[pos & 7][pos >> 3]
                if pos - start == 64:  # eight empty strings: maybe a long run of zero bytes
                    break
            else:
                for _ in repeat(None, (count - i) & 7):
                    pos += 8 + views[pos & 7][pos >> 3]
                return pos
            i += 8 * (k + 1)
            stop = min(end, pos + 8 * (count - i))  # no need to look past the last string
            k = min((_zero_run_end(buf, pos, stop) - pos) // 8, count - i)  # run of empty strings
            pos += 8 * k
            i += k
        return pos
    except (IndexError, OverflowError):  # a length (or the next one) ran past the end of the file
        return end + 1
    finally:
        for v in views:
            v.release()
        mv.release()


def _skip_strings_struct(buf: Any, pos: int, count: int, end: int, bo: str) -> int:
    """:func:`_skip_strings_views` for any byte order and buffer, one ``struct`` read per string."""
    unpack = struct.Struct(bo + "Q").unpack_from
    i = 0
    try:
        while i < count:
            for j in range(i, count):  # noqa: B007 - j is used after the loop
                n = unpack(buf, pos)[0]
                if not n:
                    break
                pos += 8 + n
            else:
                break
            stop = min(end, pos + 8 * (count - j))  # no need to look past the last string
            k = min((_zero_run_end(buf, pos, stop) - pos) // 8, count - j)  # run of empty strings
            pos += 8 * k
            i = j + k
    except (struct.error, OverflowError):  # a length ran past the end (or past 2^63)
        return end + 1
    return pos


def _zero_run_end(buf: Any, pos: int, end: int) -> int:
    """First offset ≥ pos holding a non-zero byte (``end`` if none), at memcmp speed."""
    step = 64
    while pos < end:
        stop = min(pos + step, end)
        chunk = buf[pos:stop]
        if chunk != (_ZEROS if len(chunk) == len(_ZEROS) else bytes(len(chunk))):
            m = _NONZERO.search(chunk)
            return pos + (m.start() if m else len(chunk))
        pos = stop
        step = min(step * 4, 1 << 20)
    return end


# --- paths without pathlib ---------------------------------------------------------------------
# A whole ``rigfit inspect FILE --json`` takes 65–85 ms; importing pathlib (with urllib.parse
# and ipaddress) would add ~4 ms. These give exactly what pathlib gives, pathlib only off POSIX.


def path_str(path: str | os.PathLike) -> str:
    """``str(pathlib.Path(path))``: the path as pathlib normalises it ("a//./b/" -> "a/b")."""
    if os.name != "posix":  # pragma: no cover - drive letters, "\\" and "/" mixes: ask pathlib
        return str(Path(path))
    s = os.fspath(path)
    if isinstance(s, bytes):
        raise TypeError(f"expected str or os.PathLike of str, not {type(s).__name__}")
    root = "//" if s.startswith("//") and not s.startswith("///") else ("/" if s.startswith("/") else "")
    return root + "/".join(x for x in s.split("/") if x and x != ".") or "."


def path_name(path: str | os.PathLike) -> str:
    """``pathlib.Path(path).name``."""
    if os.name != "posix":  # pragma: no cover
        return Path(path).name
    s = path_str(path)
    name = s.rsplit("/", 1)[-1]
    return "" if name == "." or s.strip("/") == "" else name


def path_stem(path: str | os.PathLike) -> str:
    """``pathlib.Path(path).stem``: the name without its last suffix (".gguf")."""
    name = path_name(path)
    i = name.rfind(".")
    return name[:i] if 0 < i < len(name) - 1 else name


def split_paths(path: str | os.PathLike) -> list[Path]:
    """All parts of a split GGUF (``name-00001-of-00003.gguf``), or ``[path]`` if not split."""
    p = Path(path)
    m = _SPLIT_RE.match(p.name)
    if not m:
        return [p]
    count = int(m.group("count"))
    if count < 1 or count > 9999:
        return [p]
    parts = [p.with_name(f"{m.group('prefix')}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [q.name for q in parts if not q.exists()]
    if missing:
        raise BadFileError(
            p,
            f"split GGUF is missing part(s): {', '.join(missing[:5])}",
            "Download every part of the split model into the same folder.",
        )
    return parts


def read_gguf(path: str | os.PathLike, follow_splits: bool = True) -> GGUFFile:
    """Read a GGUF header (all split parts when ``follow_splits``) without touching tensor data.

    Raises BadFileError for anything that is not a valid GGUF v2/v3 file.
    """
    if follow_splits and _SPLIT_RE.match(path_name(path)):
        paths: list[str | os.PathLike] = list(split_paths(path))
    else:
        paths = [path]
    first = _read_one(paths[0])
    if len(paths) == 1:
        return first
    tensors = list(first.tensors)
    part_idx = [0] * len(tensors)
    parts = list(first.parts)
    seen = {t.name for t in tensors}
    for i, p in enumerate(paths[1:], start=1):
        g = _read_one(p)
        for t in g.tensors:
            if t.name in seen:
                raise BadFileError(p, f"tensor {t.name!r} appears in more than one split part")
            seen.add(t.name)
        tensors.extend(g.tensors)
        part_idx.extend([i] * len(g.tensors))
        parts.extend(g.parts)
    declared = first.metadata.get("split.tensors.count")
    if isinstance(declared, int) and not isinstance(declared, bool) and declared != len(tensors):
        raise BadFileError(
            paths[0], f"split model declares {declared} tensors but its parts hold {len(tensors)}"
        )
    first.tensors = tuple(tensors)
    first.parts = tuple(parts)
    first.tensor_part = tuple(part_idx)
    return first


def _open_regular_fast(spath: str) -> BinaryIO:
    """Open a regular file for reading; a FIFO, device or socket is refused without blocking
    (opened O_NONBLOCK and checked with fstat: ``open()`` on a FIFO waits for a writer forever)."""
    fd = os.open(spath, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(spath)
        if not stat.S_ISREG(mode):
            what = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
            raise BadFileError(spath, f"is {what}, not a regular GGUF file", "Pass a regular file.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _read_one(path: str | os.PathLike) -> GGUFFile:
    spath = path_str(path)
    try:
        fh = _open_regular_fast(spath)
    except FileNotFoundError:
        raise BadFileError(spath, "no such file") from None
    except IsADirectoryError:
        raise BadFileError(spath, "is a directory, not a GGUF file") from None
    except OSError as exc:
        raise BadFileError(spath, f"cannot open: {exc.strerror or exc}") from None
    with fh:
        size = os.fstat(fh.fileno()).st_size
        if size < 24:
            head = fh.read(4)
            if head != GGUF_MAGIC[: len(head)] or not head:
                raise BadFileError(spath, "not a GGUF file (wrong magic bytes)" if head else "empty file")
            raise BadFileError(spath, f"truncated GGUF file ({size} bytes)")
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise BadFileError(spath, f"cannot map file: {exc}") from None
        try:
            return _parse(spath, mm, size)
        finally:
            mm.close()


def _check_magic(path: str, buf: Any) -> None:
    """Raise a clear error unless the file starts with GGUF's magic (old GGML formats named)."""
    magic = bytes(buf[0:4])
    if magic != GGUF_MAGIC:
        hint = " (this looks like a safetensors file)" if magic[:1] in (b"{",) else ""
        if magic in (b"ggjt", b"ggml", b"ggmf", b"tjgg", b"lmgg"):
            raise BadFileError(
                path,
                "old GGML/GGJT model format, not GGUF",
                "Convert it with llama.cpp's convert scripts or download a GGUF.",
            )
        raise BadFileError(path, f"not a GGUF file (magic {magic!r}, expected b'GGUF'){hint}")


def _read_version(r: _Reader, path: str, buf: Any) -> int:
    """The GGUF version (v2 or v3; sets the reader's byte order for big-endian files)."""
    r.pos = 4
    (version,) = struct.unpack_from("<I", buf, 4)
    if version & 0xFFFF == 0 and version != 0:  # written big-endian (gguf-py's test, GGUFReader)
        r.bo = ">"
        (version,) = struct.unpack_from(">I", buf, 4)
    r.pos = 8
    if version == 1:
        raise BadFileError(
            path,
            "GGUF version 1 is obsolete (32-bit counts); not supported",
            "Re-convert the model with a current llama.cpp.",
        )
    if version not in (2, 3):
        raise BadFileError(path, f"unsupported GGUF version {version} (rigfit reads v2 and v3)")
    return version


def _read_metadata(r: _Reader, n_kv: int) -> tuple[dict[str, Any], dict[str, str]]:
    """The metadata key/values and each value's type name."""
    metadata: dict[str, Any] = {}
    types: dict[str, str] = {}
    for i in range(n_kv):
        key = r.string(f"key of metadata entry {i}", MAX_KEY_LEN)
        if not key:
            raise r.fail(f"metadata entry {i} has an empty key")
        if key in metadata:
            raise r.fail(f"duplicate metadata key {key!r}")
        vtype = r.u32(f"type of {key!r}")
        if vtype == ARRAY:
            itype = r.u32(f"element type of {key!r}")
            count = r.u64(f"length of array {key!r}")
            metadata[key] = _read_array(r, key, itype, count)
            types[key] = f"arr[{TYPE_NAMES.get(itype, '?')}]"
        elif vtype == STRING:
            metadata[key] = r.string_value(key)
            types[key] = "str"
        elif vtype in _SCALAR_FMT:
            metadata[key] = r.scalar(vtype, f"value of {key!r}")
            types[key] = TYPE_NAMES[vtype]
        else:
            raise r.fail(f"metadata key {key!r} has unknown value type {vtype}")
    return metadata, types


def _alignment(r: _Reader, metadata: dict[str, Any], types: dict[str, str]) -> int:
    """``general.alignment`` (a power of two, u32), else GGUF's default."""
    alignment = GGUF_DEFAULT_ALIGNMENT
    if "general.alignment" in metadata:
        if types["general.alignment"] != "u32":
            raise r.fail(f"general.alignment must be u32, not {types['general.alignment']}")
        alignment = metadata["general.alignment"]
        if alignment == 0 or alignment & (alignment - 1):
            raise r.fail(f"general.alignment {alignment} is not a power of two")
    return alignment


def _read_tensor_infos(
    r: _Reader, buf: Any, n_tensors: int, alignment: int, ttable: dict[int, tuple[str, int, int]]
) -> list[tuple[str, tuple[int, ...], int, int]]:
    """The tensor infos: (name, shape, GGML type id, data offset), each checked."""
    raw: list[tuple[str, tuple[int, ...], int, int]] = []
    names: set[str] = set()
    for i in range(n_tensors):
        name = r.string(f"name of tensor {i}", GGML_MAX_NAME - 1)
        if name in names:
            raise r.fail(f"duplicate tensor name {name!r}")
        names.add(name)
        n_dims = r.u32(f"dimension count of tensor {name!r}")
        if not 1 <= n_dims <= GGML_MAX_DIMS:
            raise r.fail(f"tensor {name!r} has {n_dims} dimensions (1–{GGML_MAX_DIMS} allowed)")
        r.need(8 * n_dims, f"shape of tensor {name!r}")
        shape = struct.unpack_from(r.bo + "q" * n_dims, buf, r.pos)
        r.pos += 8 * n_dims
        if any(d < 0 for d in shape):
            raise r.fail(f"tensor {name!r} has a negative dimension {shape}")
        ttype = r.u32(f"type of tensor {name!r}")
        if ttype not in ttable:
            raise r.fail(f"tensor {name!r} has unknown GGML type {ttype}")
        tname, blck, _ = ttable[ttype]
        if shape[0] % blck:
            raise r.fail(
                f"tensor {name!r}: row length {shape[0]} is not a multiple of the {tname} block size {blck}"
            )
        offset = r.u64(f"offset of tensor {name!r}")
        if offset % alignment:
            raise r.fail(f"tensor {name!r}: offset {offset} is not a multiple of the alignment {alignment}")
        raw.append((name, tuple(shape), ttype, offset))
    return raw


def _tensor_table(
    r: _Reader,
    raw: list[tuple[str, tuple[int, ...], int, int]],
    ttable: dict[int, tuple[str, int, int]],
    data_size: int,
) -> list[TensorInfo]:
    """Tensor infos with their sizes [B], each checked to end inside the file."""
    tensors: list[TensorInfo] = []
    tensors = []
    for name, shape, ttype, offset in raw:
        tname, blck, tsize = ttable[ttype]
        n_el = 1
        for d in shape:
            n_el *= d
        if n_el >= 1 << 63:
            raise r.fail(f"tensor {name!r} has an absurd element count {n_el:,}")
        n_bytes = n_el // blck * tsize
        if offset + n_bytes > data_size:
            raise r.fail(
                f"truncated file: tensor {name!r} ({n_bytes:,} bytes at data offset {offset:,}) "
                f"ends past the end of the file ({data_size:,} data bytes)"
            )
        tensors.append(TensorInfo(name=name, shape=shape, ggml_type=tname, n_bytes=n_bytes, offset=offset))
    return tensors


def _parse(path: str, buf: Any, size: int) -> GGUFFile:
    r = _Reader(path, buf, size)
    _check_magic(path, buf)
    version = _read_version(r, path, buf)
    n_tensors = r.u64("tensor count")
    n_kv = r.u64("metadata count")
    # every KV needs ≥ 8 (key len) + 1 (key) + 4 (type) + 1 bytes; every tensor info ≥ 8+1+4+8+4+8
    if n_kv > (size - r.pos) // 14:
        raise r.fail(f"absurd metadata count {n_kv:,} for a {size:,}-byte file")
    if n_tensors > (size - r.pos) // 33:
        raise r.fail(f"absurd tensor count {n_tensors:,} for a {size:,}-byte file")
    metadata, types = _read_metadata(r, n_kv)
    alignment = _alignment(r, metadata, types)
    ttable = _type_table()
    raw = _read_tensor_infos(r, buf, n_tensors, alignment, ttable)
    data_offset = r.pos + (-r.pos) % alignment
    tensors = _tensor_table(r, raw, ttable, size - data_offset)
    part = GGUFPart(path=path, file_size=size, data_offset=data_offset, n_tensors=len(tensors))
    return GGUFFile(
        path=path,
        version=version,
        byte_order=r.bo,
        alignment=alignment,
        metadata=metadata,
        types=types,
        tensors=tuple(tensors),
        parts=(part,),
        tensor_part=(0,) * len(tensors),
    )


def _type_table() -> dict[int, tuple[str, int, int]]:
    """GGML type id -> (name, block size, bytes per block), from rigfit.catalog.quant."""
    return {t.id: (t.name, t.block_size, t.type_size) for t in GGML_TYPES}


def _read_array(r: _Reader, key: str, itype: int, count: int) -> Any:
    if itype == ARRAY:
        raise r.fail(f"metadata key {key!r} is a nested array (not supported by llama.cpp)")
    if itype != STRING and itype not in _SCALAR_FMT:
        raise r.fail(f"array {key!r} has unknown element type {itype}")
    min_size = 8 if itype == STRING else _SCALAR_SIZE[itype]
    left = r.size - r.pos
    if count > MAX_ARRAY_LEN or count * min_size > left:
        raise r.fail(f"array {key!r} claims {count:,} elements but only {left:,} bytes are left in the file")
    start = r.pos
    if itype == STRING:
        r.skip_strings(count, f"array {key!r}")
        if count <= EAGER_ARRAY_MAX and r.pos - start <= EAGER_STRING_MAX:
            end, r.pos = r.pos, start
            out = tuple(r.string(f"element {j} of {key!r}") for j in range(count))
            r.pos = end
            return out
        return LazyArray(r.path, itype, count, start, r.pos - start, r.bo)
    nbytes = count * _SCALAR_SIZE[itype]
    r.need(nbytes, f"array {key!r}")
    r.pos += nbytes
    if count <= EAGER_ARRAY_MAX:
        return struct.unpack_from(r.bo + _SCALAR_FMT[itype] * count, r.buf, start)
    return LazyArray(r.path, itype, count, start, nbytes, r.bo)


def iter_gguf_files(root: str | os.PathLike) -> Iterator[Path]:
    """GGUF files under ``root`` (first part only of a split set), sorted by path."""
    for p in sorted(Path(root).rglob("*.gguf")):
        m = _SPLIT_RE.match(p.name)
        if m and int(m.group("no")) != 1:
            continue
        yield p


# --- header extent from the first bytes alone (remote reading) ---------------------------------


class _Short(Exception):
    """The bytes end before the header does; ``need`` [B] estimates the header's length."""

    def __init__(self, need: int) -> None:
        self.need = need


def gguf_header_extent(buf: bytes | bytearray, name: str = "GGUF header") -> tuple[int | None, int]:
    """Whether the first bytes of a GGUF file hold its whole header (metadata + tensor table).

    buf: the file's first bytes. Returns ``(data_offset, header_bytes)`` when they do
    (``data_offset`` [B]: start of the tensor data; ``header_bytes`` [B]: end of the tensor
    table, the bytes a reader needs), else ``(None, need)``: ``need`` [B] estimates the header's
    length from what was read (a long string array is extrapolated from its first elements;
    always more than ``len(buf)``). Used to read a header over HTTP range requests, growing
    the range until it is complete, after which :func:`read_gguf` checks every value.

    Only the structure is walked (lengths, counts, types); raises BadFileError for bytes that
    cannot be a GGUF v2/v3 header (wrong magic, unknown value type, over-long key or name).
    """
    size = len(buf)
    if size < 8:
        if bytes(buf[:4]) != GGUF_MAGIC[: min(size, 4)]:
            raise BadFileError(name, f"not a GGUF file (magic {bytes(buf[:4])!r}, expected b'GGUF')")
        return None, 1 << 16
    if bytes(buf[:4]) != GGUF_MAGIC:
        raise BadFileError(name, f"not a GGUF file (magic {bytes(buf[:4])!r}, expected b'GGUF')")
    bo = "<"
    (version,) = struct.unpack_from("<I", buf, 4)
    if version & 0xFFFF == 0 and version != 0:
        bo = ">"
        (version,) = struct.unpack_from(">I", buf, 4)
    if version not in (2, 3):
        raise BadFileError(name, f"unsupported GGUF version {version} (rigfit reads v2 and v3)")
    try:
        end, alignment = _walk_header(buf, bo, name)
    except _Short as s:
        return None, max(s.need, size + 1)
    return end + (-end) % alignment, end


def _walk_header(buf: bytes | bytearray, bo: str, name: str) -> tuple[int, int]:
    """End of the tensor table [B] and the alignment; raises _Short when ``buf`` ends first."""
    size = len(buf)
    u32 = struct.Struct(bo + "I").unpack_from
    u64 = struct.Struct(bo + "Q").unpack_from
    pos = 8

    def take(n: int, left: int = 0) -> int:
        """Advance over n bytes; ``left``: a lower bound of the bytes that follow them."""
        nonlocal pos
        if pos + n > size:
            raise _Short(pos + n + left)
        start, pos = pos, pos + n
        return start

    def bad(problem: str) -> BadFileError:
        return BadFileError(name, f"corrupt GGUF header: {problem}")

    n_tensors = u64(buf, take(8))[0]
    n_kv = u64(buf, take(8, 8))[0]
    alignment = GGUF_DEFAULT_ALIGNMENT
    for i in range(n_kv):
        rest = 14 * (n_kv - i - 1) + 33 * n_tensors  # smallest possible entries after this one
        klen = u64(buf, take(8, rest))[0]
        if klen > MAX_KEY_LEN:
            raise bad(f"key of metadata entry {i} claims {klen:,} bytes")
        key = bytes(buf[take(klen, rest) : pos])
        vtype = u32(buf, take(4, rest))[0]
        if vtype == STRING:
            take(u64(buf, take(8, rest))[0], rest)
        elif vtype == ARRAY:
            itype, count = u32(buf, take(4, rest))[0], u64(buf, take(8, rest))[0]
            if count > MAX_ARRAY_LEN:
                raise bad(f"array {key!r} claims {count:,} elements")
            if itype == STRING:
                pos = _walk_strings(buf, pos, count, bo, rest)
            elif itype in _SCALAR_SIZE:
                take(count * _SCALAR_SIZE[itype], rest)
            else:
                raise bad(f"array {key!r} has element type {itype}")
        elif vtype in _SCALAR_SIZE:
            at = take(_SCALAR_SIZE[vtype], rest)
            if key == b"general.alignment" and vtype == UINT32:
                alignment = u32(buf, at)[0]
        else:
            raise bad(f"metadata key {key!r} has unknown value type {vtype}")
    for i in range(n_tensors):
        rest = 33 * (n_tensors - i - 1)
        nlen = u64(buf, take(8, rest))[0]
        if nlen >= GGML_MAX_NAME:
            raise bad(f"name of tensor {i} claims {nlen:,} bytes")
        take(nlen + 4, rest)
        n_dims = u32(buf, pos - 4)[0]
        if not 1 <= n_dims <= GGML_MAX_DIMS:
            raise bad(f"tensor {i} has {n_dims} dimensions")
        take(8 * n_dims + 12, rest)
    if alignment == 0 or alignment & (alignment - 1):
        alignment = GGUF_DEFAULT_ALIGNMENT  # read_gguf reports the bad value
    return pos, alignment


def _walk_strings(buf: bytes | bytearray, pos: int, count: int, bo: str, rest: int) -> int:
    """End of ``count`` length-prefixed strings from ``pos``; raises _Short with an estimate
    of the header's length (the strings not yet seen are as long as the average so far)."""
    size = len(buf)
    unpack = struct.Struct(bo + "Q").unpack_from
    start = pos
    j = 0
    while j < count and pos + 8 <= size:
        pos += 8 + unpack(buf, pos)[0]
        j += 1
    if j == count and pos <= size:
        return pos
    avg = (pos - start) / max(j, 1)
    return _raise_short(start + int(avg * count) + rest, pos)


def _raise_short(estimate: int, reached: int) -> int:
    raise _Short(max(estimate, reached + 8))
