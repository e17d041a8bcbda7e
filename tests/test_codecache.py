"""rigfit.codecache: dataclass methods compiled once and read back by later command-line runs.

Run in subprocesses, so this test process's own ``dataclasses`` stays as it is. They check that
classes made with the cache behave and print exactly as without it, that a second run compiles
nothing (the gain, held structurally rather than by a clock), and that a damaged file is ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

CLASSES = """
import dataclasses, sys
from dataclasses import dataclass, field
from rigfit import codecache
installed = codecache.install() if sys.argv[1] == "on" else False

@dataclass(frozen=True)
class A:
    x: int
    y: str = "y"
    z: tuple = ()

@dataclass(order=True)
class B:
    n: float
    tags: list = field(default_factory=list)
    k: int = field(default=3, repr=False, compare=False)

@dataclass(kw_only=True, slots=True)
class C:
    a: int
    b: "A | None" = None

a, b, c = A(1), B(2.5, ["t"]), C(a=1, b=A(2, "q"))
try:
    a.x = 5
except dataclasses.FrozenInstanceError as e:
    print("frozen", type(e).__name__, e)
print(repr(a), repr(b), repr(c), a == A(1), hash(a) == hash(A(1)), B(1) < B(2), b == B(2.5, ["t"], 9))
print(dataclasses.replace(a, y="w"), dataclasses.asdict(c), A.__init__.__code__.co_varnames, A.__doc__)
print("installed", installed, codecache._state.get("dirty"), len(codecache._state.get("used", ())))
"""


def _run(args: list[str], cache: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_CURRENT_TEST", "RIGFIT_CACHE_DIR")}
    env["PYTHONPATH"] = str(SRC)
    if cache is not None:
        env["RIGFIT_CACHE_DIR"] = str(cache)
    else:
        env["PYTEST_CURRENT_TEST"] = "off"  # the cache is off under pytest without RIGFIT_CACHE_DIR
    r = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r


def test_classes_behave_the_same_with_the_cache(tmp_path: Path) -> None:
    plain = _run(["-c", CLASSES, "off"], None).stdout.splitlines()
    first = _run(["-c", CLASSES, "on"], tmp_path).stdout.splitlines()
    second = _run(["-c", CLASSES, "on"], tmp_path).stdout.splitlines()
    assert plain[:-1] == first[:-1] == second[:-1]
    assert plain[-1] == "installed False None 0"
    assert first[-1].startswith("installed True True ")  # compiled, then written at exit
    assert second[-1].startswith("installed True False ")  # all read back
    assert int(second[-1].split()[-1]) >= 8
    assert len(list(tmp_path.glob("dataclass-code-*.marshal"))) == 1


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    _run(["-c", CLASSES, "on"], tmp_path)
    (path,) = tmp_path.glob("dataclass-code-*.marshal")
    path.write_bytes(b"\x00not marshal")
    again = _run(["-c", CLASSES, "on"], tmp_path).stdout.splitlines()
    assert again[-1].startswith("installed True True ")  # compiled afresh, rewritten
    assert _run(["-c", CLASSES, "on"], tmp_path).stdout.splitlines()[-1].startswith("installed True False ")


def test_second_plan_process_compiles_no_dataclass_method(tmp_path: Path) -> None:
    code = (
        "import sys; from rigfit.cli import main; from rigfit import codecache\n"
        "main(['plan', 'llama-3.1-8b', '--on', 'RTX 3060 12GB', '--json'])\n"
        "print(codecache._state['dirty'], len(codecache._state['used']), file=sys.stderr)"
    )
    first = _run(["-c", code], tmp_path)
    second = _run(["-c", code], tmp_path)
    assert first.stdout == second.stdout
    dirty, used = second.stderr.split()[-2:]
    assert dirty == "False" and int(used) > 200  # every method of the plan's ~80 classes, read back
