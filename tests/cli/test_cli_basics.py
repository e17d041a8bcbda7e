from __future__ import annotations

from clirun import run_cli
from rigfit import __version__
from rigfit.errors import RigfitError, UnknownNameError


def test_version_command():
    out = run_cli("version")
    assert out.exit_code == 0
    assert __version__ in out.stdout


def test_unknown_command_is_usage_error():
    out = run_cli("no-such-command")
    assert out.exit_code == 2
    assert "Traceback" not in out.stderr


def test_unknown_name_error_lists_candidates():
    err = UnknownNameError("GPU", "RTX 3070 Tii", ["GeForce RTX 3070 Ti"])
    assert "RTX 3070 Tii" in str(err)
    assert "GeForce RTX 3070 Ti" in (err.suggestion or "")
    assert isinstance(err, RigfitError)
    assert err.exit_code == 2


def test_inspect_json_fast_path_matches_library_and_errors(tmp_path):
    """`rigfit inspect FILE --json` skips the CLI framework: same JSON, same errors, same exit codes."""
    import json

    import synth
    from rigfit.formats.inspect import inspect_source
    from rigfit.jsonout import to_json_text, with_schema

    model = synth.write_llama(tmp_path / "tiny.gguf", n_layer=2)
    for args in (("inspect", str(model.path), "--json"), ("inspect", "--json", str(model.path))):
        out = run_cli(*args)
        assert out.exit_code == 0, out.stderr
        expected = with_schema("rigfit.inspect/1", inspect_source(str(model.path)))
        assert json.loads(out.stdout) == json.loads(to_json_text(expected))
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\x03\x00")
    out = run_cli("inspect", str(bad), "--json")
    assert out.exit_code == 2
    assert out.stderr.startswith("error:") and "Traceback" not in out.stderr
