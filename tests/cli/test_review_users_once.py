"""Review regression: `plan qwen3-30b-a3b --users 8` printed two different answers for 8 users,
"8 users decoding at once: 100.1 tok/s each, 800.9 in total" (speed model, weights read once per
step) and the Concurrency section's "per user 78.3 tok/s; all users 626.3" (MoE routing of
independent requests included). With --users only the Concurrency section answers."""

from __future__ import annotations

from clirun import run_cli

BOX = "RTX 4090 + 64GB DDR5-6000"


def test_users_are_answered_once():
    r = run_cli("plan", "qwen3-30b-a3b", "--on", BOX, "--users", "8")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "users decoding at once" not in text
    assert "per user" in text and "all users" in text


def test_parallel_slots_without_users_keep_the_speed_line():
    r = run_cli("plan", "llama-3.1-8b", "--on", BOX, "-np", "4")
    assert r.exit_code == 0, r.output
    assert "4 users decoding at once" in " ".join(r.stdout.split())
