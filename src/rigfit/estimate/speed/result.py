"""The speed estimate ``rigfit plan`` shows."""

from __future__ import annotations

from dataclasses import dataclass, field

from rigfit.figures import Figure


@dataclass(frozen=True)
class SpeedEstimate:
    """What ``rigfit plan`` shows under ``speed``.

    prefill_tps: prompt tokens/s for a ``prompt``-token prompt.
    decode_tps: tokens/s at depth 0 (one user); decode_tps_ctx: at the chosen context.
    ttft_s: time to first token for the prompt. aggregate_tps / per_user_tps: with ``parallel``
    users decoding at once. bottleneck: what limits speed, in words.
    """

    prefill_tps: Figure
    decode_tps: Figure
    decode_tps_ctx: Figure
    ttft_s: Figure
    bottleneck: str
    prompt_tokens: int
    context_tokens: int
    parallel: int = 1
    aggregate_tps: Figure | None = None
    per_user_tps: Figure | None = None
    roofline_decode_tps: float | None = None
    notes: tuple[str, ...] = ()
    details: dict = field(default_factory=dict, compare=False, hash=False)

    def to_json(self) -> dict:
        out = {
            "prefill_tps": self.prefill_tps.to_json(),
            "decode_tps": self.decode_tps.to_json(),
            "decode_tps_at_context": self.decode_tps_ctx.to_json(),
            "ttft_s": self.ttft_s.to_json(),
            "prompt_tokens": self.prompt_tokens,
            "context_tokens": self.context_tokens,
            "bottleneck": self.bottleneck,
            "roofline_decode_tps": self.roofline_decode_tps,
            "notes": list(self.notes),
        }
        if self.details.get("build"):
            out["llama_build"] = self.details["build"]  # which build the figures are for
        if self.parallel > 1 and self.aggregate_tps and self.per_user_tps:
            out["parallel"] = self.parallel
            out["aggregate_decode_tps"] = self.aggregate_tps.to_json()
            out["per_user_decode_tps"] = self.per_user_tps.to_json()
        return out
