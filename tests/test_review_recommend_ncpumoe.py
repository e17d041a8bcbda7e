"""Review regression: `recommend` passed the number of layers with experts in RAM as the
--n-cpu-moe value. For MoE models with leading dense layers (DeepSeek-V2, GLM-4.5-Air) the flag
counts those layers too, so the "max ctx" column was searched with one expert layer too few in
RAM ("DeepSeek-V2 IQ4_XS at 8,192 context ... max ctx 3,072" on a Ryzen AI Max+ 395 128GB) and
the pick's line named the wrong flag."""

from __future__ import annotations

from rigfit.catalog.models import get_model
from rigfit.hardware.grammar import resolve_machine
from rigfit.recommend import recommend


def test_max_ctx_of_an_experts_in_ram_pick_covers_its_own_context():
    machine = resolve_machine("Ryzen AI Max+ 395 128GB")
    rec = recommend(machine, "chat", models=[get_model("deepseek-v2")], limit=None)
    (pick,) = [p for p in rec.picks if p.model_id == "deepseek-v2"]
    e = pick.evaluation
    assert e.experts_in_ram > 0
    assert e.n_cpu_moe == e.experts_in_ram + 1  # first_k_dense_replace = 1
    assert e.max_ctx is not None and e.max_ctx >= pick.ctx
