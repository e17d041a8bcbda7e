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
* ``data/quality_kld_models.csv`` — other published scoreboards, one row per (model, quant):
  ``model_id`` (catalog id), ``quant`` (llama.cpp file type, or an Unsloth dynamic name such as
  ``UD-Q2_K_XL``), ``quantizer``, ``mean_kld`` [nats/token vs the 16-bit model], ``ppl``,
  ``dataset``, ``source_url``, ``notes``. Today: Llama 4 Scout from bartowski's comparison
  (https://huggingface.co/blog/bartowski/llama4-scout-off), llama.cpp's default recipes and two
  Unsloth dynamic quants; Gemma 3 27B from Unsloth's Dynamic 2.0 page
  (https://unsloth.ai/docs/basics/unsloth-dynamic-2.0-ggufs): seven Dynamic 2.0 quants and the
  seven standard-imatrix quants it compares them with (each baseline row named by the file size
  the page gives for it).

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
    """

    model_id: str
    quant: str
    kld: float
    ppl: float | None
    source_url: str
    label: str
    imatrix: str = ""


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


def parse_model_rows(text: str) -> tuple[ScoreRow, ...]:
    """Rows of a ``quality_kld_models.csv``-style table. Raises ValueError for a row without a
    public source URL, without a model id or quant, or with a missing or negative KLD."""
    out = []
    for i, r in enumerate(csv.DictReader(text.splitlines()), start=2):
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
        out.append(ScoreRow(mid, quant_key(q), kld, _float(r.get("ppl")), url, _label(url), quantizer))
    return tuple(out)


def _label(url: str) -> str:
    """A short name for a board from its URL (shown with the URL)."""
    if "huggingface.co/blog/" in url:
        return "Hugging Face blog " + url.split("huggingface.co/blog/", 1)[1].strip("/")
    if "github.com/" in url:
        return "/".join(url.split("github.com/", 1)[1].split("/")[:2]) + " on GitHub"
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


def model_row(model_id: str, quant: str, rows: tuple[ScoreRow, ...] | None = None) -> ScoreRow | None:
    """The measured row for ``model_id`` at ``quant`` (any spelling :func:`quant_key` reads), or
    None when that model's boards do not list that quant."""
    q = quant_key(quant)
    for r in scoreboard_rows() if rows is None else rows:
        if r.model_id == model_id and r.quant == q:
            return r
    return None


def row_figure(r: ScoreRow) -> Figure:
    """A measured row as a labelled figure [nats/token], looked up from its board."""
    how = f" ({r.imatrix})" if r.imatrix and r.imatrix != "None" else ""
    return Figure(r.kld, "nats", "looked_up", f"{r.label}, {r.model_id} {r.quant}{how}: {r.source_url}")


def board_label(source: str) -> str:
    """The board's name from a :func:`row_figure` source ("llama.cpp perplexity README scoreboard")."""
    return source.split(", ", 1)[0]
