"""Quantization catalog: GGML tensor types, llama.cpp file types and KV-cache types.

Three tables, each a definition taken from llama.cpp's source rather than a measured figure:

* :data:`GGML_TYPES` — every GGML tensor type with its block size (weights per block) and bytes
  per block, from ``ggml/src/ggml-common.h`` (the ``block_*`` structs) and ``ggml/include/ggml.h``
  (type ids). The ``gguf`` Python package carries the same table as ``GGML_QUANT_SIZES``; two
  places where gguf-py 0.19 differs from ggml are noted on the entries (Q8_1 is 36 B, not 40 B;
  Q2_0 is missing). ``tests/test_quant_catalog.py`` checks the rest against gguf-py.
* :data:`FILE_TYPES` — llama.cpp's ``LLAMA_FTYPE_*`` (``include/llama.h``), i.e. the names
  ``llama-quantize`` accepts (``tools/quantize/quantize.cpp`` ``QUANT_OPTIONS``) plus the
  converter-only ones. A file type is a *mix*: the per-tensor rules that turn it into tensor
  types live in :mod:`rigfit.estimate.tensors` (a port of ``src/llama-quant.cpp``).
* :data:`KV_TYPES` — the KV-cache types llama.cpp accepts for ``-ctk``/``-ctv``
  (``common/arg.cpp`` ``kv_cache_types``), with bytes per element including block overhead.
  A quantized V cache needs flash attention (``src/llama-context.cpp``: "quantized V cache
  requires flash_attn"); a quantized K cache does not.

Sizes: ``tensor_nbytes(type, shape) = ne0 / block_size × type_size × ne1 × ne2 × …`` bytes,
where ``shape`` is in GGUF order (row length ``ne0`` first) and ``ne0`` must be a multiple of the
block size (that is why llama-quantize falls back to other types for odd row lengths).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

from rigfit.errors import UnknownNameError

# ---------------------------------------------------------------------------------------------
# GGML tensor types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GGMLType:
    """One GGML tensor type.

    name: as gguf-py / ggml_type_name spell it, upper case ("Q4_K", "F16", "MXFP4").
    id: ``enum ggml_type`` value (what a GGUF tensor-info stores).
    block_size: weights per block [elements].
    type_size: bytes per block [B].
    quantized: ggml's ``ggml_is_quantized`` (block-quantized; F32/F16/BF16/I* are not).
    activation_only: types ggml uses only for activations (Q8_1, Q8_K): never in a model file.
    """

    name: str
    id: int
    block_size: int
    type_size: int
    quantized: bool
    activation_only: bool = False
    note: str | None = None

    @property
    def bits_per_weight(self) -> float:
        """Storage bits per weight including block scales [bit]."""
        return self.type_size * 8 / self.block_size

    @property
    def bytes_per_weight(self) -> float:
        """Storage bytes per weight including block scales [B]."""
        return self.type_size / self.block_size

    def row_bytes(self, n: int) -> int:
        """Bytes of one row of ``n`` weights [B] (ggml_row_size); ``n`` must be whole blocks."""
        if n % self.block_size:
            raise ValueError(
                f"row length {n} is not a multiple of the {self.name} block size {self.block_size}"
            )
        return n // self.block_size * self.type_size


def _t(
    name: str,
    tid: int,
    blck: int,
    size: int,
    quantized: bool = True,
    *,
    activation_only: bool = False,
    note: str | None = None,
) -> GGMLType:
    return GGMLType(name, tid, blck, size, quantized, activation_only, note)


#: Every GGML type (ggml/include/ggml.h ids; ggml/src/ggml-common.h block layouts, llama.cpp 2026).
GGML_TYPES: tuple[GGMLType, ...] = (
    _t("F32", 0, 1, 4, False),
    _t("F16", 1, 1, 2, False),
    _t("Q4_0", 2, 32, 18),  # fp16 d + 16 B nibbles
    _t("Q4_1", 3, 32, 20),  # fp16 d, m + 16 B
    _t("Q5_0", 6, 32, 22),  # fp16 d + 4 B high bits + 16 B
    _t("Q5_1", 7, 32, 24),
    _t("Q8_0", 8, 32, 34),  # fp16 d + 32 × int8
    _t(
        "Q8_1",
        9,
        32,
        36,
        activation_only=True,
        note="block_q8_1 = 2×fp16 + 32 B = 36 B; gguf-py 0.19 GGML_QUANT_SIZES says 40 (stale)",
    ),
    _t("Q2_K", 10, 256, 84),
    _t("Q3_K", 11, 256, 110),
    _t("Q4_K", 12, 256, 144),
    _t("Q5_K", 13, 256, 176),
    _t("Q6_K", 14, 256, 210),
    _t("Q8_K", 15, 256, 292, activation_only=True),
    _t("IQ2_XXS", 16, 256, 66),
    _t("IQ2_XS", 17, 256, 74),
    _t("IQ3_XXS", 18, 256, 98),
    _t("IQ1_S", 19, 256, 50),
    _t("IQ4_NL", 20, 32, 18),
    _t("IQ3_S", 21, 256, 110),
    _t("IQ2_S", 22, 256, 82),
    _t("IQ4_XS", 23, 256, 136),
    _t("I8", 24, 1, 1, False),
    _t("I16", 25, 1, 2, False),
    _t("I32", 26, 1, 4, False),
    _t("I64", 27, 1, 8, False),
    _t("F64", 28, 1, 8, False),
    _t("IQ1_M", 29, 256, 56),
    _t("BF16", 30, 1, 2, False),
    # 31-33 were Q4_0_4_4/4_8/8_8 (removed from GGUF files, repacked at load time instead)
    _t("TQ1_0", 34, 256, 54),
    _t("TQ2_0", 35, 256, 66),
    # 36-38 were IQ4_NL_4_4/4_8/8_8 (removed)
    _t("MXFP4", 39, 32, 17),  # E8M0 scale + 16 B of E2M1 pairs
    _t("NVFP4", 40, 64, 36),  # 4 × UE4M3 sub-block scales + 32 B
    _t("Q1_0", 41, 128, 18),  # fp16 d + 16 B of sign bits
    _t("Q2_0", 42, 64, 18, note="new in llama.cpp 2026 (fp16 d + 16 B); not in gguf-py 0.19"),
)

_BY_NAME: dict[str, GGMLType] = {t.name: t for t in GGML_TYPES}
_BY_ID: dict[int, GGMLType] = {t.id: t for t in GGML_TYPES}
#: spellings already resolved ("q4_K", " F16") → type; grows with each new spelling, bounded
_BY_SPELLING: dict[str, GGMLType] = dict(_BY_NAME)


def ggml_type(key: str | int | GGMLType) -> GGMLType:
    """Look up a GGML type by name (case-insensitive, "q4_K" ok), id, or pass one through."""
    if type(key) is str:  # fast path: exact spelling seen before (planning asks ~10⁵ times)
        hit = _BY_SPELLING.get(key)
        if hit is not None:
            return hit
    if isinstance(key, GGMLType):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        if key in _BY_ID:
            return _BY_ID[key]
        raise UnknownNameError("GGML type id", str(key), hint="Known ids: 0-30, 34, 35, 39-42.")
    name = str(key).strip().upper()
    if name in _BY_NAME:
        if type(key) is str and len(_BY_SPELLING) < 4096:
            _BY_SPELLING[key] = _BY_NAME[name]
        return _BY_NAME[name]
    cands = difflib.get_close_matches(name, list(_BY_NAME), n=5, cutoff=0.5)
    raise UnknownNameError("GGML type", str(key), cands)


def tensor_nbytes(type_: str | int | GGMLType, shape: tuple[int, ...] | list[int]) -> int:
    """Exact bytes of a tensor's data [B] (ggml_nbytes for a contiguous tensor).

    type_: GGML type (name, id or :class:`GGMLType`).
    shape: GGUF order, row length first (``ne0, ne1, …``), e.g. ``(4096, 128256)``.

    ``nbytes = ne0 / block_size × type_size × ne1 × ne2 × …``. Raises ValueError when ``ne0`` is
    not a multiple of the block size (ggml cannot store such a tensor in that type).
    """
    t = ggml_type(type_)
    if not shape:
        raise ValueError("a tensor needs at least one dimension")
    ne0 = int(shape[0])
    n = t.row_bytes(ne0)
    for d in shape[1:]:
        n *= int(d)
    return n


# ---------------------------------------------------------------------------------------------
# llama.cpp file types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileType:
    """A llama.cpp file type (``general.file_type``): a recipe mixing several tensor types.

    name: llama-quantize's spelling ("Q4_K_M", "IQ2_XXS", "MXFP4_MOE", "F16").
    id: ``LLAMA_FTYPE_*`` value.
    base_type: the default tensor type (``llama_ftype_get_default_type``); the per-tensor
        rules in ``rigfit.estimate.tensors`` raise or lower it for sensitive tensors.
    via: "quantize" (llama-quantize makes it), "convert" (only convert_hf_to_gguf.py writes it),
        or "both".
    needs_imatrix: llama-quantize refuses to make it without an importance matrix.
    description: llama-quantize's one-line description (its Llama-3-8B size/ppl note, if any).
    """

    name: str
    id: int
    base_type: str
    via: str = "quantize"
    needs_imatrix: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def base(self) -> GGMLType:
        return ggml_type(self.base_type)

    @property
    def nominal_bits_per_weight(self) -> float:
        """Bits per weight of the base type (the real mix is higher: see catalog_model_spec)."""
        return self.base.bits_per_weight


def _f(
    name: str,
    fid: int,
    base: str,
    desc: str,
    *,
    via: str = "quantize",
    imatrix: bool = False,
    aliases: tuple[str, ...] = (),
) -> FileType:
    return FileType(name, fid, base, via, imatrix, desc, aliases)


#: llama.cpp file types (include/llama.h LLAMA_FTYPE_*; descriptions from tools/quantize QUANT_OPTIONS).
FILE_TYPES: tuple[FileType, ...] = (
    _f("F32", 0, "F32", "26.00G @ 7B", via="both", aliases=("FP32", "FLOAT32", "ALL_F32")),
    _f("F16", 1, "F16", "14.00G, +0.0020 ppl @ Mistral-7B", via="both", aliases=("FP16", "FLOAT16", "HALF")),
    _f("BF16", 32, "BF16", "14.00G, -0.0050 ppl @ Mistral-7B", via="both", aliases=("BFLOAT16",)),
    _f("Q8_0", 7, "Q8_0", "7.96G, +0.0026 ppl @ Llama-3-8B", via="both", aliases=("Q8",)),
    _f("Q6_K", 18, "Q6_K", "6.14G, +0.0217 ppl @ Llama-3-8B", aliases=("Q6",)),
    _f("Q5_K_M", 17, "Q5_K", "5.33G, +0.0569 ppl @ Llama-3-8B", aliases=("Q5_K",)),
    _f("Q5_K_S", 16, "Q5_K", "5.21G, +0.1049 ppl @ Llama-3-8B"),
    _f("Q5_1", 9, "Q5_1", "5.65G, +0.1062 ppl @ Llama-3-8B"),
    _f("Q5_0", 8, "Q5_0", "5.21G, +0.1316 ppl @ Llama-3-8B"),
    _f("Q4_K_M", 15, "Q4_K", "4.58G, +0.1754 ppl @ Llama-3-8B", aliases=("Q4_K",)),
    _f("Q4_K_S", 14, "Q4_K", "4.37G, +0.2689 ppl @ Llama-3-8B"),
    _f("Q4_1", 3, "Q4_1", "4.78G, +0.4511 ppl @ Llama-3-8B"),
    _f("Q4_0", 2, "Q4_0", "4.34G, +0.4685 ppl @ Llama-3-8B"),
    _f("IQ4_NL", 25, "IQ4_NL", "4.50 bpw non-linear quantization"),
    _f("IQ4_XS", 30, "IQ4_XS", "4.25 bpw non-linear quantization"),
    _f("MXFP4_MOE", 38, "MXFP4", "MXFP4 experts, Q8_0 elsewhere", aliases=("MXFP4",)),
    _f("Q3_K_L", 13, "Q3_K", "4.03G, +0.5562 ppl @ Llama-3-8B"),
    _f("Q3_K_M", 12, "Q3_K", "3.74G, +0.6569 ppl @ Llama-3-8B", aliases=("Q3_K",)),
    _f("Q3_K_S", 11, "Q3_K", "3.41G, +1.6321 ppl @ Llama-3-8B"),
    _f("IQ3_M", 27, "IQ3_S", "3.66 bpw quantization mix"),
    _f("IQ3_S", 26, "IQ3_S", "3.44 bpw quantization"),
    _f("IQ3_XS", 22, "IQ3_S", "3.3 bpw quantization"),
    _f("IQ3_XXS", 23, "IQ3_XXS", "3.06 bpw quantization", imatrix=True),
    _f("Q2_K", 10, "Q2_K", "2.96G, +3.5199 ppl @ Llama-3-8B"),
    _f("Q2_K_S", 21, "Q2_K", "2.96G, +3.1836 ppl @ Llama-3-8B", imatrix=True),
    _f("IQ2_M", 29, "IQ2_S", "2.7 bpw quantization", imatrix=True),
    _f("IQ2_S", 28, "IQ2_XS", "2.5 bpw quantization", imatrix=True),
    _f("IQ2_XS", 20, "IQ2_XS", "2.31 bpw quantization", imatrix=True),
    _f("IQ2_XXS", 19, "IQ2_XXS", "2.06 bpw quantization", imatrix=True),
    _f("Q2_0", 41, "Q2_0", "2.25 bpw quantization (group 64)"),
    _f("TQ2_0", 37, "TQ2_0", "2.06 bpw ternarization", via="both"),
    _f("IQ1_M", 31, "IQ1_M", "1.75 bpw quantization", imatrix=True),
    _f("TQ1_0", 36, "TQ1_0", "1.69 bpw ternarization", via="both"),
    _f("IQ1_S", 24, "IQ1_S", "1.56 bpw quantization", imatrix=True),
    _f("Q1_0", 40, "Q1_0", "1.125 bpw quantization"),
    _f(
        "NVFP4", 39, "NVFP4", "NVFP4 checkpoints converted as stored (convert_hf_to_gguf only)", via="convert"
    ),
)

_FT_BY_NAME: dict[str, FileType] = {f.name: f for f in FILE_TYPES}
_FT_BY_ID: dict[int, FileType] = {f.id: f for f in FILE_TYPES}

# Words people type for a bit width, and the file types they most likely mean.
_BIT_HINTS: dict[int, tuple[str, ...]] = {
    1: ("IQ1_M", "IQ1_S"),
    2: ("Q2_K", "IQ2_M", "IQ2_XXS"),
    3: ("Q3_K_M", "IQ3_M", "IQ3_XXS"),
    4: ("Q4_K_M", "Q4_0", "IQ4_XS", "MXFP4_MOE"),
    5: ("Q5_K_M", "Q5_K_S"),
    6: ("Q6_K",),
    8: ("Q8_0",),
    16: ("F16", "BF16"),
    32: ("F32",),
}


def _norm(s: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", s.upper())


@lru_cache(maxsize=1)
def _ft_index() -> dict[str, FileType]:
    idx: dict[str, FileType] = {}
    for f in FILE_TYPES:
        for n in (f.name, *f.aliases):
            idx[_norm(n)] = f
            idx.setdefault("MOSTLY" + _norm(n), f)
    return idx


def file_type_names() -> list[str]:
    """Canonical names of all file types, best quality first."""
    return [f.name for f in FILE_TYPES]


def file_type_by_id(fid: int) -> FileType | None:
    """The file type with ``LLAMA_FTYPE`` value ``fid`` (GGUF ``general.file_type``), or None."""
    return _FT_BY_ID.get(int(fid))


def default_file_type(arch_id: str) -> str:
    """The file type rigfit assumes for a catalog model when none is given.

    gpt-oss ships its expert weights in MXFP4 (OpenAI model card; ggml-org's GGUFs are MXFP4_MOE),
    so re-quantizing them to Q4_K_M is not what people run; every other model: Q4_K_M, the most
    common llama.cpp download.
    """
    return "MXFP4_MOE" if arch_id.startswith("gpt-oss") else "Q4_K_M"


def resolve_file_type(name: str | FileType) -> FileType:
    """Resolve a user's spelling of a llama.cpp file type.

    Case and separators are ignored ("q4_k_m", "Q4KM", "q4-k-m" → Q4_K_M); llama-quantize's
    aliases work ("Q4_K" → Q4_K_M); a GGUF file name containing a type resolves to it
    ("Llama-3.1-8B-Instruct-Q4_K_M.gguf"). Otherwise raises :class:`UnknownNameError` with the
    closest names (and, for "4bit"/"int8"-style input, the usual file types of that width).
    """
    if isinstance(name, FileType):
        return name
    hit = _RESOLVED.get(name) if type(name) is str else None
    if hit is not None:
        return hit
    found = _resolve_file_type(name)
    if type(name) is str:
        _RESOLVED[name] = found  # (a pure function of the spelling: a ladder asks ~12,000 times)
    return found


#: :func:`resolve_file_type` per spelling it resolved (names that raise are not kept).
_RESOLVED: dict[str, FileType] = {}


def _resolve_file_type(name: str) -> FileType:
    """:func:`resolve_file_type` of a spelling, worked out."""
    raw = str(name).strip()
    idx = _ft_index()
    key = _norm(raw)
    if key in idx:
        return idx[key]
    # A type embedded in a longer string, e.g. a file name: longest canonical match wins.
    up = raw.upper()
    best: FileType | None = None
    best_len = 0
    for f in FILE_TYPES:
        for n in (f.name, *f.aliases):
            if len(n) <= 2:
                continue
            if re.search(rf"(?<![A-Z0-9_]){re.escape(n)}(?![A-Z0-9_])", up) and len(n) > best_len:
                best, best_len = f, len(n)
    if best is not None:
        return best

    hint = None
    cands: list[str] = []
    m = re.fullmatch(r"(?:INT|FP|UINT|W|NF)?(\d{1,2})(?:BIT|BITS|B|BPW)?", key)
    if m is None and "BIT" in key:
        m = re.search(r"(\d{1,2})", key)
    if m is not None and int(m.group(1)) in _BIT_HINTS:
        bits = int(m.group(1))
        cands = list(_BIT_HINTS[bits])
        hint = f"llama.cpp names quantizations by type; for {bits}-bit weights try one of these."
    if not cands:
        by_norm = {_norm(n): f.name for f in FILE_TYPES for n in (f.name, *f.aliases)}
        close = difflib.get_close_matches(key, list(by_norm), n=5, cutoff=0.5)
        cands = list(dict.fromkeys(by_norm[c] for c in close))
    if key.startswith("UD") or key.endswith("XL"):
        hint = (
            "Unsloth dynamic ('UD-…_XL') quants use their own per-tensor mixes: plan with the "
            "nearest standard type or read the GGUF file itself."
        )
    if not hint and not cands:
        hint = "Known: " + ", ".join(file_type_names()) + "."
    raise UnknownNameError("quantization type", raw, cands, hint=hint)


# ---------------------------------------------------------------------------------------------
# KV-cache types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KVType:
    """A KV-cache element type (llama.cpp ``-ctk`` / ``-ctv``).

    name: lower case as llama.cpp's CLI spells it ("f16", "q8_0").
    ggml: the GGML type name.
    v_needs_flash_attn: using it for the V cache requires flash attention (any quantized type).
    """

    name: str
    ggml: str
    v_needs_flash_attn: bool

    @property
    def type(self) -> GGMLType:
        return ggml_type(self.ggml)

    @property
    def bytes_per_element(self) -> float:
        """Bytes per cached element including block scales [B] (q8_0: 34/32 = 1.0625)."""
        return self.type.bytes_per_weight

    def row_bytes(self, n: int) -> int:
        """Exact bytes of one cached row of ``n`` elements [B]; ``n`` must be whole blocks."""
        return self.type.row_bytes(n)


#: The KV types llama.cpp accepts (common/arg.cpp kv_cache_types), most precise first.
KV_TYPES: tuple[KVType, ...] = tuple(
    KVType(n.lower(), n, ggml_type(n).quantized)
    for n in ("F32", "F16", "BF16", "Q8_0", "Q5_1", "Q5_0", "Q4_1", "IQ4_NL", "Q4_0")
)
_KV_BY_NAME = {k.name: k for k in KV_TYPES}


def resolve_kv_type(name: str | KVType) -> KVType:
    """Resolve a KV-cache type name ("f16", "Q8_0", "q8" → q8_0, "fp16" → f16)."""
    if isinstance(name, KVType):
        return name
    if type(name) is str and name in _KV_BY_NAME:  # fast path: the usual exact spelling ("f16")
        return _KV_BY_NAME[name]
    raw = str(name).strip()
    key = raw.lower().replace("-", "_")
    aliases = {
        "fp16": "f16",
        "half": "f16",
        "fp32": "f32",
        "float": "f32",
        "q8": "q8_0",
        "q4": "q4_0",
        "q5": "q5_0",
        "bfloat16": "bf16",
        "int8": "q8_0",
        "8bit": "q8_0",
        "4bit": "q4_0",
    }
    key = aliases.get(key, key)
    if key in _KV_BY_NAME:
        return _KV_BY_NAME[key]
    cands = difflib.get_close_matches(key, list(_KV_BY_NAME), n=5, cutoff=0.4)
    raise UnknownNameError("KV cache type", raw, cands, hint="Known: " + ", ".join(_KV_BY_NAME) + ".")
