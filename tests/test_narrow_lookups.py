"""The start-up shortcuts of name lookup (issue 15) answer exactly as the whole indexes do.

``rigfit plan`` resolves a model and a machine without building the whole name indexes: the model
lookup canonicalises only the catalog names that hold its key as a subsequence, the hardware lookup
normalises only the names holding a word of the query. These tests compare both with the whole
indexes over every catalog name and many variants, so a change to the normalisers that breaks the
shortcuts' premise fails here.
"""

from __future__ import annotations

import random

from rigfit.catalog import models
from rigfit.hardware import names
from rigfit.hardware.tables import overlay


def _model_queries() -> list[str]:
    out: set[str] = set()
    for rec in models._raw_catalog()["models"]:
        for group, _ in models._named(rec):
            for n in group:
                out.update({n, n.upper(), n + "-Q4_K_M.gguf", n.replace("-", " "), "hf:" + n, n[:-1]})
    return sorted(out)


def test_model_key_lookup_matches_the_whole_index() -> None:
    queries = _model_queries()
    keys: list[str] = []
    for q in queries:
        c = models._canon(q)
        keys += [models._compact(c), models._compact(models._strip_suffixes(c))]
    keys = list(dict.fromkeys(keys))
    models._index.cache_clear()
    models._index_at.cache_clear()
    try:
        narrow = {k: models._index_at(k) for k in keys}  # the whole index is not built yet
        assert not models._index.cache_info().currsize
        whole = models._index()
        assert narrow == {k: whole.get(k) for k in keys}
        assert sum(v is not None for v in narrow.values()) > 500  # the catalog's names were found
    finally:
        models._index_at.cache_clear()


def _hardware_queries() -> list[str]:
    idx = names._index()
    out = {e.name for e in idx.entries}
    for name, row in names.gpu_rows().items():
        out.update(row.get("_aliases", []))
        out.update({f"{name} 12GB", name.replace("GeForce ", ""), name.lower().replace(" ", "")})
    out.update(overlay()["gpu_aliases"])
    rnd = random.Random(15)
    words = sorted({t for toks, _ in idx.token_sets for t in toks})
    out.update(" ".join(rnd.sample(words, rnd.randint(1, 3))) for _ in range(300))
    picked = rnd.sample(sorted(out), 300)  # each new query word builds a narrow index: a sample
    return [
        *picked,
        "RTX 3060 12GB",
        "rtx3060 12gib",
        "3090",
        "A100",
        "H100 SXM",
        "EPYC",
        "Ryzen AI Max+ 395",
    ]


def _answer(query: str, whole: bool) -> tuple[str, str]:
    toks = names._tokens(query)
    try:
        got = names._lookup_in(names._index(), query, toks, True) if whole else names._lookup(query)
    except Exception as exc:  # the same error, word for word
        return type(exc).__name__, str(exc)
    return "ok", repr(got)


def test_hardware_lookup_matches_the_whole_index() -> None:
    queries = [q for q in _hardware_queries() if names._tokens(q)]
    narrow = 0
    for q in queries:
        fam, _ = names._strip_memory(names._tokens(q))
        narrow += names._needle([t for t in fam if t not in names._SERIES]) is not None
        assert _answer(q, whole=False) == _answer(q, whole=True), q
    assert narrow > 0.9 * len(queries)  # the shortcut is what answers
