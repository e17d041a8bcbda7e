"""Run every ``$ rigfit …`` example of the README and compare (or rewrite) the output it shows.

    python tools/readme_blocks.py            # check: exit 1 and a diff per block that differs
    python tools/readme_blocks.py --update   # rewrite the README's outputs from real runs

A README example is a fenced code block whose lines starting with ``$ `` are shell commands; the
lines after each command, up to the next command or the end of the block, are its output as shown.
A line ``...`` in a shown output stands for any number of lines (the README elides long output;
``--update`` keeps the same number of lines before and after it).

Comparison is on text, not layout: box-drawing characters are dropped and white space folded, so
tables and soft-wrapped lines compare by their words and figures. Examples that measure this
machine (``bench``, ``run``, ``--on local``) are *volatile*: numbers compare as ``#``, and the
machine's own CPU name, recorded in an HTML comment above the block
(``<!-- readme-blocks: recorded on "Intel(R) Xeon(R) Processor" -->``), compares as a placeholder.
On another machine than the recording one, a volatile example must only run and answer (its CPU,
RAM and speed differ). Every example runs in a fresh ``$HOME`` with 100 terminal columns, in README
order (so ``bench`` writes the model that a later ``inspect`` or ``run`` reads), with ``~`` being that home.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
#: the terminal width the README's outputs were recorded at [columns]
COLUMNS = 100
#: words of a command that make its output depend on this machine and on timing
VOLATILE_WORDS = ("rigfit bench", "rigfit run", "--on local", "rigfit results", "rigfit calibrate")
_RECORDED = re.compile(r'<!-- readme-blocks: recorded on "(.*)" -->')
_BOX = re.compile(r"[\u2500-\u257f]")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
ELISION = "..."
#: the time one example may take [s] (bench and run measure real llama.cpp)
TIMEOUT_S = 600


@dataclass
class Example:
    """One ``$ command`` of the README with the output lines it shows."""

    command: str
    shown: list[str]
    line_no: int  # 1-based README line of the command
    recorded_cpu: str | None = None

    @property
    def volatile(self) -> bool:
        return any(word in self.command for word in VOLATILE_WORDS)


@dataclass
class Block:
    """A fenced code block holding one or more examples (README lines ``start``..``end``, 0-based,
    the fences excluded)."""

    start: int
    end: int
    examples: list[Example] = field(default_factory=list)


def parse_blocks(lines: list[str]) -> list[Block]:
    """The README's fenced blocks whose first line is a ``$ `` command."""
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            body = lines[i + 1 : j]
            if body and body[0].startswith("$ "):
                recorded = _RECORDED.search(lines[i - 1]) if i > 0 else None
                block = Block(i + 1, j)
                for k, line in enumerate(body):
                    if line.startswith("$ "):
                        block.examples.append(
                            Example(line[2:], [], i + 2 + k, recorded.group(1) if recorded else None)
                        )
                    else:
                        block.examples[-1].shown.append(line)
                blocks.append(block)
            i = j + 1
        else:
            i += 1
    return blocks


def local_cpu_name() -> str:
    """This machine's CPU brand string as rigfit prints it (``/proc/cpuinfo`` model name)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def fold(lines: list[str], *, volatile: bool, cpu: str | None) -> str:
    """Text to compare: no box drawing, folded white space; numbers and the CPU name masked when
    the example is volatile."""
    text = " ".join(lines)
    if volatile and cpu:
        text = text.replace(cpu, "<this CPU>")
    text = _BOX.sub(" ", text)
    if volatile:
        text = _NUMBER.sub("#", text)
    return " ".join(text.split())


def matches(example: Example, output: list[str], cpu: str) -> bool:
    """Whether ``output`` is what the README shows (segments between ``...`` found in order)."""
    segments: list[list[str]] = [[]]
    for line in example.shown:
        if line.strip() == ELISION:
            segments.append([])
        else:
            segments[-1].append(line)
    actual = fold(output, volatile=example.volatile, cpu=cpu)
    shown_cpu = example.recorded_cpu or cpu
    if len(segments) == 1:
        return fold(segments[0], volatile=example.volatile, cpu=shown_cpu) == actual
    pos = 0
    for k, seg in enumerate(segments):
        want = fold(seg, volatile=example.volatile, cpu=shown_cpu)
        if not want:
            continue
        if k == 0 and not actual.startswith(want):
            return False
        found = actual.find(want, pos)
        if found < 0:
            return False
        pos = found + len(want)
    last = fold(segments[-1], volatile=example.volatile, cpu=shown_cpu)
    return not last or actual.endswith(last)


def example_env(home: Path) -> dict[str, str]:
    """A fresh user: its own home, config, cache and data folders; 100 columns; no colour."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RIGFIT_", "XDG_"))}
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        HOME=str(home),
        COLUMNS=str(COLUMNS),
        LINES="50",
        TERM="dumb",
        NO_COLOR="1",
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        HF_HUB_OFFLINE="1",
    )
    return env


def run_example(example: Example, env: dict[str, str], cwd: Path) -> list[str]:
    """The output lines (stdout and stderr, in order) of one example, run by bash like a user would.

    An example that shows ``^C`` is a server: once it prints that it serves "until Ctrl-C", it gets
    SIGINT (as a terminal's Ctrl-C sends to the foreground process group) and ``^C`` is recorded.
    """
    interrupt = "^C" in example.shown
    proc = subprocess.Popen(
        ["bash", "-c", example.command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    timer = threading.Timer(TIMEOUT_S, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if interrupt and "until Ctrl-C" in line:
                lines.append("^C")
                os.killpg(proc.pid, signal.SIGINT)
                interrupt = False  # one Ctrl-C, as a user presses it once
        proc.wait()
    finally:
        timer.cancel()
    home = env["HOME"]
    return [line.replace(home, "~").rstrip() for line in lines]


def shown_after_update(example: Example, output: list[str]) -> list[str]:
    """The output to show: all of it, or the same stretch as before around ``...``: as many leading
    lines, and the trailing lines from the one that starts like the old first trailing line (the
    last lines as many as before when no line does)."""
    stripped = [s.strip() for s in example.shown]
    if ELISION not in stripped:
        return output
    cut = stripped.index(ELISION)
    old_tail = example.shown[cut + 1 :]
    head = output[:cut]
    if not old_tail:
        return [*head, ELISION]
    anchor = old_tail[0][:12]
    starts = [i for i, line in enumerate(output) if i >= cut and anchor and line.startswith(anchor)]
    tail = output[starts[0] :] if starts else output[-len(old_tail) :]
    return [*head, ELISION, *tail]


def run_all(readme: Path, update: bool, strict_volatile: bool = True) -> list[str]:
    """Run every example; return the problems (check) or rewrite the README (update).

    strict_volatile: compare machine-measured examples too (masked); False only asks that they run
    and answer (the test suite runs them beside other tests, where a busy machine adds a noise
    warning to ``bench``)."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    blocks = parse_blocks(lines)
    cpu = local_cpu_name()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="rigfit-readme-") as tmp:
        home = Path(tmp)
        env = example_env(home)
        for block in blocks:
            for ex in block.examples:
                out = run_example(ex, env, home)
                if update:
                    ex.shown = shown_after_update(ex, out)
                    if ex.volatile:
                        ex.recorded_cpu = cpu
                elif ex.volatile and (
                    not strict_volatile or (ex.recorded_cpu and ex.recorded_cpu != cpu) or "^C" in ex.shown
                ):
                    # recorded on another machine: what this one prints differs (its CPU's catalog
                    # row, RAM, speed); a server stopped by Ctrl-C ends in an order that races with
                    # the signal. Either must still run and answer, not fail
                    if not out or any("Traceback" in line for line in out) or out[0].startswith("error:"):
                        problems.append(
                            f"README.md:{ex.line_no}: $ {ex.command}\n--- failed\n" + "\n".join(out)
                        )
                elif not matches(ex, out, cpu):
                    problems.append(
                        f"README.md:{ex.line_no}: $ {ex.command}\n--- shown\n"
                        + "\n".join(ex.shown)
                        + "\n--- actual\n"
                        + "\n".join(out)
                    )
    if update:
        for block in reversed(blocks):
            body: list[str] = []
            for ex in block.examples:
                body += [f"$ {ex.command}", *ex.shown]
            lines[block.start : block.end] = body
            comment_at = block.start - 2
            volatile_cpu = next((ex.recorded_cpu for ex in block.examples if ex.volatile), None)
            has_comment = comment_at >= 0 and _RECORDED.search(lines[comment_at])
            if volatile_cpu and has_comment:
                lines[comment_at] = f'<!-- readme-blocks: recorded on "{volatile_cpu}" -->'
            elif volatile_cpu:
                lines.insert(block.start - 1, f'<!-- readme-blocks: recorded on "{volatile_cpu}" -->')
        readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite the README's outputs")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args()
    problems = run_all(args.readme, args.update)
    for p in problems:
        print(p, end="\n\n")
    if not args.update:
        n = sum(len(b.examples) for b in parse_blocks(args.readme.read_text().splitlines()))
        print(f"{n - len(problems)} of {n} README examples show their real output")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
