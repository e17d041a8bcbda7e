"""Ground-truth rows left out of the speed fit and its accuracy, each with a stated reason.

The list lives next to the measurements (``data/ground-truth/excluded_rows.csv``). Each rule has
a short ``name`` and a ``reason``; it matches a measurement by its ``source_url`` (exact) and,
where given, its ``hardware`` (exact, as published), ``n_devices``, ``test_prefix`` (the
llama-bench test name starts with it: ``pp`` leaves out prompt rows only) and ``notes_contains``
(the row's ``notes`` contain that text, case-insensitive: it singles out rows of one source that
share the URL with others, e.g. the columns of a table measured on different builds). A list
without the ``notes_contains`` column reads as before. Left-out rows are counted with the
unresolved ones as ``excluded: <name>``; the reason stands in the list.

Only rows that are not measurements of what rigfit predicts belong here, each for a reason a
reader can check at the row's URL — never because a row is predicted badly:

* a setting the source does not state and the data contradict (a host link far narrower than
  assumed), or a run whose operators fell back to the CPU (a kernel the build did not have);
* a build that is not upstream llama.cpp: an unmerged pull-request branch or a fork (rigfit
  predicts upstream builds; a PR branch that was merged later is kept when its build is labelled).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rigfit.measure.groundtruth import SpeedCase, ground_truth_dir, read_rows

#: File name of the exclusion list inside data/ground-truth (not ``speed_*.csv``: the benchmarks
#: read every such file as measurements).
EXCLUSIONS_FILE = "excluded_rows.csv"


@dataclass(frozen=True)
class Exclusion:
    """One rule of the exclusion list: which rows, and why."""

    name: str
    source_url: str
    reason: str
    hardware: str = ""
    n_devices: int | None = None
    test_prefix: str = ""
    notes_contains: str = ""

    def matches(self, case: SpeedCase) -> bool:
        """Whether ``case`` is one of the rows this rule leaves out."""
        if case.source_url.strip() != self.source_url:
            return False
        if self.hardware and case.hardware.strip() != self.hardware:
            return False
        if self.n_devices is not None and case.n_devices != self.n_devices:
            return False
        if self.notes_contains and self.notes_contains.casefold() not in (case.notes or "").casefold():
            return False
        return not self.test_prefix or case.test_name.startswith(self.test_prefix)


def default_exclusions_path() -> Path | None:
    """``data/ground-truth/excluded_rows.csv`` of this checkout, if present."""
    folder = ground_truth_dir()
    if folder is None:
        return None
    path = folder / EXCLUSIONS_FILE
    return path if path.is_file() else None


def read_exclusions(path: str | Path | None) -> list[Exclusion]:
    """The rules of an exclusion list (none for None); a rule without a reason is an error."""
    if path is None:
        return []
    _, rows = read_rows(path)
    out: list[Exclusion] = []
    for i, r in enumerate(rows, start=2):
        name = (r.get("name") or "").strip()
        url = (r.get("source_url") or "").strip()
        reason = (r.get("reason") or "").strip()
        if not name or not url or not reason:
            raise ValueError(f"{path}:{i}: an exclusion needs a name, a source_url and a reason")
        nd = (r.get("n_devices") or "").strip()
        out.append(
            Exclusion(
                name=name,
                source_url=url,
                reason=reason,
                hardware=(r.get("hardware") or "").strip(),
                n_devices=int(nd) if nd else None,
                test_prefix=(r.get("test_prefix") or "").strip(),
                notes_contains=(r.get("notes_contains") or "").strip(),
            )
        )
    return out


def exclusion_reason(case: SpeedCase, rules: list[Exclusion]) -> str | None:
    """The name of the first rule that leaves ``case`` out (its reason is in the list), else None."""
    for rule in rules:
        if rule.matches(case):
            return rule.name
    return None


__all__ = ["EXCLUSIONS_FILE", "Exclusion", "default_exclusions_path", "exclusion_reason", "read_exclusions"]
