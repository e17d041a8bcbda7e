"""Per-model quality scoreboards: a model's own published KL divergence per quant.

:mod:`rigfit.catalog.quality` estimates the quality lost to a quant from one model's scoreboard
(Llama-3-8B) scaled by size. Where someone measured *this* model, its own figure is better. This
module holds those measurements and answers "what did the scoreboard of model M say for quant Q".

Data (one public source URL per row; a row without one is refused):

* ``data/quality_kld.csv`` — llama.cpp's perplexity README (``tools/perplexity/README.md``,
  https://github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/README.md; the tables of
  https://github.com/ggml-org/llama.cpp/pull/6936): Llama-3-8B, Llama-3-70B, Llama-2-7B and
  Llama-2-70B, base models, wikitext-2, KLD against the F16 model. Rows are read by their model
  name (:data:`LLAMACPP_MODELS`). Where a type was measured with and without an imatrix the row
  without one is used (as in :mod:`rigfit.catalog.quality`); IQ types exist only with one.
* ``data/quality_kld_models.csv`` — other published scoreboards, one row per (model, quant,
  uploader): ``model_id`` (catalog id), ``quant`` (llama.cpp file type, or an Unsloth dynamic name
  such as ``UD-Q2_K_XL``), ``quantizer`` (who made the measured file, as the board says),
  ``uploader`` (the Hugging Face account whose published file was measured, e.g. ``bartowski``;
  empty where the board measured a file of its own making), ``mean_kld`` [nats/token, the *mean*
  KL divergence vs the 16-bit model; medians and percentiles are not accepted], ``ppl`` (on the
  board's own text), ``dataset``, ``source_url``, ``notes``. Today:

  - Llama 4 Scout from bartowski's comparison (https://huggingface.co/blog/bartowski/llama4-scout-off):
    llama.cpp's default recipes and two Unsloth dynamic quants.
  - Gemma 3 27B from Unsloth's Dynamic 2.0 page
    (https://unsloth.ai/docs/basics/unsloth-dynamic-2.0-ggufs): seven Dynamic 2.0 quants and the
    seven standard-imatrix quants it compares them with (each baseline row named by the file size
    the page gives for it).
  - Qwen3-30B-A3B from ubergarm's table in ik_llama.cpp's "Qwen3 quantization experiments"
    (https://github.com/ikawrakow/ik_llama.cpp/discussions/359): Q8_0, bartowski's Q4_K_M/Q4_K_S
    and Unsloth's UD-Q4_K_XL, on his private podcast-transcript corpus.
  - Qwen3.5-27B and Qwen3.5-9B from u/TitwitMuffbiscuit's r/LocalLLaMA sweeps
    (https://www.reddit.com/r/LocalLLaMA/comments/1rk5qmr/qwen3527b_q4_quantization_comparison/,
    https://www.reddit.com/r/LocalLLaMA/comments/1rr72lr/qwen359b_quantization_comparison/):
    the same quant type from several uploaders (bartowski, unsloth, mradermacher, lmstudio-community).
  - Qwen3-0.6B and Qwen2.5-1.5B-Instruct from the quantgap results dataset, one merged result
    per page (https://huggingface.co/datasets/quantgap/results/discussions/2 … /7): published
    files from tensorblock, bartowski and Qwen's own GGUF repository.

Several uploaders' files of one type can differ by a factor of four in KLD (Qwen3.5-9B Q4_K_M:
bartowski 0.0087, lmstudio-community 0.0353). A file whose name carries its uploader
("bartowski/…-GGUF:Q4_K_M", a Hugging Face cache path "models--bartowski--…") gets that uploader's
row; otherwise the answer is the middle row (the higher one of an even pair) with the lowest and
highest as its band, each uploader's figure named (:func:`board_figure`).

Scoreboards differ in text, context and reference precision, so a figure is comparable within
its own board; each answer names its board.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from rigfit.catalog.quant import resolve_file_type
from rigfit.datafiles import read_text
from rigfit.errors import UnknownNameError
from rigfit.figures import Figure

#: Model names in llama.cpp's perplexity README tables → catalog ids.
LLAMACPP_MODELS: dict[str, str] = {
    "Llama-3-8B (base)": "llama-3-8b",
    "Llama-3-70B (base)": "llama-3-70b",
    "Llama-2-7B (base)": "llama-2-7b",
    "Llama-2-70B (base)": "llama-2-70b",
}
LLAMACPP_LABEL = "llama.cpp perplexity README scoreboard"

_URL = re.compile(r"https?://\S+")
_UD = re.compile(r"(?:^|[^A-Z0-9])UD[-_]((?:I?Q|TQ)\d[A-Z0-9_]*)")


@dataclass(frozen=True)
class ScoreRow:
    """One measured (model, quant) pair.

    model_id: catalog id. quant: canonical quant key (:func:`quant_key`). kld: mean KL divergence
    vs the 16-bit model [nats/token]. ppl: perplexity of the quant on the board's text, if given.
    source_url: the public page the figure was read from. label: the board's name.
    imatrix: how the quant was made where the board says ("None", "WT 10m", a quantizer's name).
    uploader: the Hugging Face account whose published file was measured ("" if not one).
    """

    model_id: str
    quant: str
    kld: float
    ppl: float | None
    source_url: str
    label: str
    imatrix: str = ""
    uploader: str = ""


@lru_cache(maxsize=4096)  # a pure function of the spelling: a recommend ladder asks ~7,000 times
def quant_key(name: str) -> str:
    """Canonical key of a quant spelling: "q4_k_m" / "Q4_K" / "…-Q4_K_M.gguf" → "Q4_K_M",
    "iq4_xs" → "IQ4_XS", "UD-Q4_K_XL" / "…-UD-Q4_K_XL-00001-of-00002.gguf" → "UD-Q4_K_XL".
    An unknown spelling comes back upper-cased."""
    raw = name.strip().rsplit("/", 1)[-1]
    up = raw.upper()
    m = _UD.search(up)
    if m is not None:
        return "UD-" + m.group(1).rstrip("_")
    try:
        return resolve_file_type(raw).name
    except UnknownNameError:
        return up.removesuffix(".GGUF")


def _url_of(text: str) -> str:
    m = _URL.search(text or "")
    return m.group(0).rstrip(".,;)'\"") if m else ""


def _float(s: str | None) -> float | None:
    s = (s or "").strip()
    return float(s) if s else None


#: The columns of ``quality_kld_models.csv``; a table missing one is refused.
MODEL_COLUMNS = (
    "model_id",
    "quant",
    "quantizer",
    "uploader",
    "mean_kld",
    "ppl",
    "dataset",
    "source_url",
    "notes",
)


def parse_model_rows(text: str) -> tuple[ScoreRow, ...]:
    """Rows of a ``quality_kld_models.csv``-style table. Raises ValueError for a table missing a
    column of :data:`MODEL_COLUMNS`, a row without a public source URL, without a model id or
    quant, with a missing or negative KLD, or repeating a (model, quant, uploader)."""
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in MODEL_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"quality table lacks column(s) {', '.join(missing)}")
    out: list[ScoreRow] = []
    seen: set[tuple[str, str, str]] = set()
    for i, r in enumerate(reader, start=2):
        url = (r.get("source_url") or "").strip()
        if not _URL.fullmatch(url):
            raise ValueError(f"line {i}: no public source URL (source_url={url!r})")
        mid, q = (r.get("model_id") or "").strip(), (r.get("quant") or "").strip()
        if not mid or not q:
            raise ValueError(f"line {i}: model_id and quant are required")
        kld = _float(r.get("mean_kld"))
        if kld is None or kld < 0:
            raise ValueError(f"line {i}: mean_kld must be a number >= 0")
        quantizer = (r.get("quantizer") or "").strip()
        uploader = (r.get("uploader") or "").strip()
        key = (mid, quant_key(q), uploader.lower())
        if key in seen:
            raise ValueError(f"line {i}: a second row for {mid} {key[1]} from uploader {uploader!r}")
        seen.add(key)
        row = ScoreRow(mid, key[1], kld, _float(r.get("ppl")), url, _label(url), quantizer, uploader)
        out.append(row)
    return tuple(out)


def _label(url: str) -> str:
    """A short name for a board from its URL (shown with the URL)."""
    if "huggingface.co/blog/" in url:
        return "Hugging Face blog " + url.split("huggingface.co/blog/", 1)[1].strip("/")
    if "huggingface.co/datasets/" in url:
        return "Hugging Face dataset " + "/".join(url.split("huggingface.co/datasets/", 1)[1].split("/")[:2])
    if "github.com/" in url:
        return "/".join(url.split("github.com/", 1)[1].split("/")[:2]) + " on GitHub"
    if "reddit.com/r/" in url:
        return "r/" + url.split("reddit.com/r/", 1)[1].split("/")[0] + " post"
    return url.split("//", 1)[-1].split("/", 1)[0]


def parse_llamacpp_rows(text: str) -> tuple[ScoreRow, ...]:
    """The llama.cpp README rows of ``quality_kld.csv`` for the models in :data:`LLAMACPP_MODELS`
    (no-imatrix row preferred; a row without a source URL raises ValueError)."""
    best: dict[tuple[str, str], ScoreRow] = {}
    for i, r in enumerate(csv.DictReader(text.splitlines()), start=2):
        mid = LLAMACPP_MODELS.get(r.get("model", ""))
        kld = _float(r.get("mean_kld"))
        if mid is None or kld is None:
            continue
        url = _url_of(r.get("source", ""))
        if not url:
            raise ValueError(f"line {i}: no public source URL")
        q = quant_key(r["quant_type"])
        row = ScoreRow(mid, q, kld, _float(r.get("ppl")), url, LLAMACPP_LABEL, r.get("imatrix", ""))
        prev = best.get((mid, q))
        if prev is None or (row.imatrix == "None" and prev.imatrix != "None"):
            best[(mid, q)] = row
    return tuple(best.values())


@lru_cache(maxsize=1)
def scoreboard_rows() -> tuple[ScoreRow, ...]:
    """Every built-in per-model row (llama.cpp README rows first, then the other boards)."""
    llama = parse_llamacpp_rows(read_text("rigfit.catalog", "data", "quality_kld.csv"))
    other = parse_model_rows(read_text("rigfit.catalog", "data", "quality_kld_models.csv"))
    return llama + other


def models_with_scoreboard() -> set[str]:
    """Catalog ids that have at least one measured quant."""
    return {r.model_id for r in scoreboard_rows()}


@lru_cache(maxsize=1)
def _rows_by_model() -> dict[str, tuple[ScoreRow, ...]]:
    """:func:`scoreboard_rows` per model id (in their order): a recommend ladder looks up ~2,000
    (model, quant) pairs, each a scan of every row otherwise."""
    out: dict[str, list[ScoreRow]] = {}
    for r in scoreboard_rows():
        out.setdefault(r.model_id, []).append(r)
    return {k: tuple(v) for k, v in out.items()}


def _model_id_rows(model_id: str, rows: tuple[ScoreRow, ...] | None) -> tuple[ScoreRow, ...]:
    """The rows of ``model_id`` among ``rows`` (default: every built-in row), in their order."""
    if rows is None:
        return _rows_by_model().get(model_id, ())
    return tuple(r for r in rows if r.model_id == model_id)


def model_rows(model_id: str, quant: str, rows: tuple[ScoreRow, ...] | None = None) -> tuple[ScoreRow, ...]:
    """Every measured row for ``model_id`` at ``quant`` (any spelling :func:`quant_key` reads):
    one per uploader whose file was measured; empty when the boards do not list that quant."""
    q = quant_key(quant)
    return tuple(r for r in _model_id_rows(model_id, rows) if r.quant == q)


def board_gap(model_id: str, quant: str, rows: tuple[ScoreRow, ...] | None = None) -> str | None:
    """Why this model's own boards give no figure at ``quant``, e.g. "gemma-3-27b's own
    scoreboard has no Q5_K_M row (it lists Q4_K_M, …: unsloth.ai https://…)": the quants it does
    list, each once, and every board's name and URL. None when no board measured the model, or
    when one lists the quant."""
    mine = _model_id_rows(model_id, rows)
    q = quant_key(quant)
    if not mine or any(r.quant == q for r in mine):
        return None
    quants = ", ".join(dict.fromkeys(r.quant for r in mine))
    boards = "; ".join(
        f"{label} {url}" for label, url in dict.fromkeys((r.label, r.source_url) for r in mine)
    )
    return f"{model_id}'s own scoreboard has no {q} row (it lists {quants}: {boards})"


_HF_CACHE = re.compile(r"models--(.+?)--")


def uploader_of(file_label: str | None, known: tuple[str, ...]) -> str | None:
    """The uploader in ``known`` that ``file_label`` names, or None: the account of a remote name
    ("bartowski/Qwen_Qwen3.5-27B-GGUF:Q4_K_M", "hf:unsloth/…") or of a Hugging Face cache path
    (".../models--unsloth--Qwen3.5-27B-GGUF/..."). Case-insensitive."""
    if not file_label:
        return None
    text = file_label.strip()
    for prefix in ("hf:", "https://huggingface.co/", "huggingface.co/"):
        text = text.removeprefix(prefix)
    cands = [text.split("/", 1)[0]] if "/" in text else []
    cands += _HF_CACHE.findall(text)
    by_lower = {k.lower(): k for k in known if k}
    for c in cands:
        if c.lower() in by_lower:
            return by_lower[c.lower()]
    return None


def model_row(
    model_id: str, quant: str, rows: tuple[ScoreRow, ...] | None = None, file_label: str | None = None
) -> ScoreRow | None:
    """The measured row for ``model_id`` at ``quant``: the row of the uploader ``file_label``
    names, else the only row, else None (none listed, or several uploaders and none named: see
    :func:`board_figure`)."""
    found = model_rows(model_id, quant, rows)
    who = uploader_of(file_label, tuple(r.uploader for r in found))
    if who is not None:
        return next(r for r in found if r.uploader == who)
    return found[0] if len(found) == 1 else None


def board_figure(
    model_id: str, quant: str, file_label: str | None = None, rows: tuple[ScoreRow, ...] | None = None
) -> Figure | None:
    """The board's figure for this model at ``quant`` [nats/token], or None when no board lists
    it: the named uploader's (or the only) row as :func:`row_figure`; for several uploaders and
    none named, the middle row (the higher of an even pair) with the lowest and highest row as
    its band, every uploader's value in the source."""
    one = model_row(model_id, quant, rows, file_label)
    if one is not None:
        return row_figure(one)
    found = sorted(model_rows(model_id, quant, rows), key=lambda r: r.kld)
    if not found:
        return None
    mid = found[len(found) // 2]
    each = ", ".join(f"{r.uploader or r.imatrix or '?'} {r.kld:g}" for r in found)
    urls = " ".join(dict.fromkeys(r.source_url for r in found))
    src = (
        f"{mid.label}, {model_id} {mid.quant}: {len(found)} uploaders' files ({each}); the middle one shown, "
        f"the file you run decides: {urls}"
    )
    return Figure(mid.kld, "nats", "looked_up", src, low=found[0].kld, high=found[-1].kld)


def row_figure(r: ScoreRow) -> Figure:
    """A measured row as a labelled figure [nats/token], looked up from its board."""
    who = r.imatrix if r.imatrix and r.imatrix != "None" else ""
    if r.uploader and r.uploader.lower() not in who.lower():
        who = f"{r.uploader}'s file" + (f", {who}" if who else "")
    how = f" ({who})" if who else ""
    return Figure(r.kld, "nats", "looked_up", f"{r.label}, {r.model_id} {r.quant}{how}: {r.source_url}")


def board_label(source: str) -> str:
    """The board's name from a :func:`row_figure` source ("llama.cpp perplexity README scoreboard")."""
    return source.split(", ", 1)[0]
