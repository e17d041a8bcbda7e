"""A short llama-bench-style measurement through a running llama.cpp server (``rigfit run --bench``).

Same method as :mod:`rigfit.measure.bench` (whose result types and store rows it reuses), over HTTP:
one warm-up request, then ``repeat`` streamed ``/completion`` requests of ``prompt`` random token
ids (no prompt cache) generating ``gen`` tokens with EOS ignored. llama.cpp's own timings give
prefill = ``prompt_n / prompt_ms`` and decode = ``predicted_n / predicted_ms``; TTFT is wall time
from sending a request to its first streamed chunk.
"""

from __future__ import annotations

import json
import random
import time
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from rigfit.errors import RigfitError
from rigfit.measure.bench import BenchReport, BenchSettings, DepthResult, Stat


def _post_stream(url: str, body: dict, timeout_s: float) -> tuple[float | None, dict]:
    """Send one streamed completion; (seconds to the first chunk, the last chunk with timings)."""
    req = urllib.request.Request(
        url + "/completion", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    t0 = time.perf_counter()
    first: float | None = None
    last: dict = {}
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            if first is None:
                first = time.perf_counter() - t0
            chunk = json.loads(payload)
            if "timings" in chunk or "error" in chunk:
                last = chunk
    return first, last


def bench_server(
    url: str, settings: BenchSettings, build: dict | None = None, timeout_s: float = 300.0
) -> BenchReport:
    """Measure pp``prompt`` / tg``gen`` through the server at ``url``; returns a BenchReport
    (``settings.depths`` must be (0,): depth runs need the bench child's cache priming)."""
    if tuple(settings.depths) != (0,):
        raise RigfitError("rigfit run --bench measures at depth 0 only.", "Use rigfit bench for --depth.")
    rng = random.Random(settings.seed)
    hi = max(min(settings.n_vocab or 32000, 32000), 2)
    lo = min(100, hi // 10)
    samples: list[dict[str, float]] = []
    t_start = time.monotonic()
    for rep in range(settings.repeat + (1 if settings.warmup else 0)):
        warm = settings.warmup and rep == 0
        body = {
            "prompt": [rng.randrange(lo, hi) for _ in range(settings.prompt)],
            "n_predict": min(settings.gen, 8) if warm else settings.gen,
            "ignore_eos": True,
            "cache_prompt": False,
            "temperature": 0,
            "stream": True,
        }
        try:
            ttft, last = _post_stream(url, body, timeout_s)
        except OSError as exc:
            raise RigfitError(f"The bench request to {url} failed: {exc}.") from None
        t = last.get("timings")
        if not t:
            raise RigfitError(f"The server at {url} returned no timings: {json.dumps(last)[:200]}")
        if warm:
            continue
        samples.append(
            {
                "pp": t["prompt_n"] / (t["prompt_ms"] / 1000.0),
                "tg": t["predicted_n"] / (t["predicted_ms"] / 1000.0),
                "ttft": ttft if ttft is not None else t["prompt_ms"] / 1000.0,
            }
        )
    depth = DepthResult(
        depth=0,
        prompt=settings.prompt,
        gen=settings.gen,
        prefill_tps=Stat.of([s["pp"] for s in samples]),
        decode_tps=Stat.of([s["tg"] for s in samples]),
        ttft_s=Stat.of([s["ttft"] for s in samples]),
        cached_tokens=0,
    )
    return BenchReport(
        settings=settings,
        depths=[depth],
        model_sha256=None,
        model_size_bytes=Path(settings.model_path).stat().st_size,
        llama_build=build or {},
        threads_used=settings.threads,
        load_s=0.0,
        wall_s=time.monotonic() - t_start,
    )


def short_settings(
    model_path: str, n_ctx: int, ngl: int | None, threads: int | None, n_vocab: int | None, **kw: Any
) -> BenchSettings:
    """The short measurement of ``rigfit run --bench``: pp128 and tg32, 2 repeats after a warm-up."""
    base = BenchSettings(
        model_path=model_path,
        prompt=128,
        gen=32,
        repeat=2,
        n_ctx=n_ctx,
        ngl=ngl,
        threads=threads,
        n_vocab=n_vocab,
    )
    return replace(base, **kw) if kw else base
