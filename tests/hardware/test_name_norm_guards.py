"""The hardware name normaliser skips a rewrite whose pattern cannot match (rigfit.hardware.names
``_NORM_STEPS`` guards): the result must be the one of applying every rewrite, on every name the
index holds and on awkward spellings users type."""

from __future__ import annotations

import random

from rigfit.hardware import names


def _unguarded(text: str) -> str:
    s = text.lower()
    for pattern, repl, _ in names._NORM_STEPS:
        s = pattern.sub(repl, s)
    return s


AWKWARD = [
    "NVIDIA GeForce RTX™ 4090 (R) 24 GB",
    "Intel(R) Core(TM) i9-13900K CPU @ 3.00GHz",
    "AMD Ryzen AI Max+ 395 w/ Radeon 8060S",
    "H100 SXM5 80GB",
    "rtx3060 12gib",
    "GTX1080Ti",
    "RX7900XTX",
    "gt1030",
    "M3 Max 40-core 128GB",
    "Radeon™ Pro W7900 48 GB",
    "1.5 GB.",
    "v.2 .5 5.",
    "a+b++ c+",
    "©®™()",
    "İstanbul GPU Ⅻ ٣",
    "",
    "   ",
]


def test_guarded_normaliser_equals_every_rewrite() -> None:
    idx = names._index()
    texts = [e.name for e in idx.entries] + AWKWARD
    rng = random.Random(15)
    alphabet = "rtxgbsxmi0123456789.+()®™© -_/aAGTX"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))) for _ in range(5000)]
    for text in texts:
        assert names._norm_text(text) == _unguarded(text), text
    assert len(texts) > 7000
