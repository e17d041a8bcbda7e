from __future__ import annotations

import subprocess
import sys

from rigfit import __version__
from rigfit.errors import RigfitError, UnknownNameError


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rigfit", *args], capture_output=True, text=True,
                          timeout=120)


def test_version_command():
    out = run_cli("version")
    assert out.returncode == 0
    assert __version__ in out.stdout


def test_unknown_command_is_usage_error():
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_unknown_name_error_lists_candidates():
    err = UnknownNameError("GPU", "RTX 3070 Tii", ["GeForce RTX 3070 Ti"])
    assert "RTX 3070 Tii" in str(err)
    assert "GeForce RTX 3070 Ti" in (err.suggestion or "")
    assert isinstance(err, RigfitError)
    assert err.exit_code == 2
