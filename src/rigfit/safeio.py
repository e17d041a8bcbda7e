"""Safe file input and output for everything a user names on the command line.

Rules (issue 18, hardening):

- Inputs are regular files (or folders where a command takes one). A FIFO, socket or device is
  refused with one clear line instead of blocking forever or reading ``/dev/zero`` without end;
  files are opened with ``O_NONBLOCK`` and checked with ``fstat`` so a path swapped for a FIFO after
  the check cannot hang either.
- Names longer than the operating system allows (255 bytes a component, 4096 a path on Linux) are
  refused up front instead of surfacing as ``ENAMETOOLONG`` tracebacks.
- Outputs are written atomically (a temporary file beside the target, then ``os.replace``), never
  over the results store, and never over an existing file unless the user passed ``--force``. The
  rename replaces a planted symlink itself rather than writing through it.
- Text echoed to the terminal from files or users has control characters replaced (no ESC
  sequences, no OSC-8 links) and can be escaped for Rich markup.
- CSV cells that a spreadsheet would run as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or
  CR) get a leading apostrophe, unless the cell is a plain number.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from rigfit.errors import BadFileError, RigfitError

#: Longest file-name component [bytes] (Linux NAME_MAX, https://man7.org/linux/man-pages/man3/pathconf.3.html).
MAX_NAME_BYTES = 255
#: Longest path [bytes] (Linux PATH_MAX, same page).
MAX_PATH_BYTES = 4096

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def check_path_length(path: str | os.PathLike[str], what: str = "path") -> None:
    """Refuse a path whose components or whole length exceed the OS limits, or that holds a NUL
    byte (no file name can; ``os.stat`` raises ValueError), with one clear line."""
    text = os.fsencode(os.fspath(path))
    if b"\0" in text:
        raise RigfitError(
            f"The {what} {clean_text(os.fsdecode(text[:60]))!r} contains a NUL byte.", "Check the name."
        )
    if len(text) > MAX_PATH_BYTES or any(len(c) > MAX_NAME_BYTES for c in text.split(b"/")):
        short = os.fsdecode(text[:60])
        raise RigfitError(
            f"The {what} {clean_text(short)!r}… is too long "
            f"(at most {MAX_NAME_BYTES} bytes a name, {MAX_PATH_BYTES} in all).",
            "Use a shorter name.",
        )


def _describe_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def require_regular_file(path: str | os.PathLike[str], what: str = "file") -> Path:
    """``path`` as a Path after checking it names an existing regular file (symlinks followed).

    Raises RigfitError (exit 2) for a missing file, a folder, a FIFO/device/socket, a symlink loop,
    an unreadable file or a name that is too long.
    """
    p = Path(path)
    check_path_length(p, what)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise BadFileError(clean_text(str(p)), f"no such {what}.") from None
    except OSError as exc:
        raise BadFileError(clean_text(str(p)), f"cannot read it ({exc.strerror or exc}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise RigfitError(f"{clean_text(str(p))} is a folder, not a {what}.")
    if not stat.S_ISREG(st.st_mode):
        raise RigfitError(
            f"{clean_text(str(p))} is {_describe_mode(st.st_mode)}, not a regular {what}.",
            "Pass a regular file.",
        )
    return p


def open_regular(path: str | os.PathLike[str], what: str = "file") -> IO[bytes]:
    """Open a regular file for binary reading without ever blocking on a FIFO.

    The file is opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a
    path replaced by a FIFO between a check and the open is still refused.
    """
    p = require_regular_file(path, what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise BadFileError(clean_text(str(p)), f"cannot read it ({exc.strerror or exc}).") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RigfitError(f"{clean_text(str(p))} is {_describe_mode(st.st_mode)}, not a regular {what}.")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text_regular(
    path: str | os.PathLike[str],
    what: str = "file",
    max_bytes: int | None = None,
    encoding: str = "utf-8-sig",
    errors: str = "strict",
) -> str:
    """The text of a regular file (a UTF-8 BOM is dropped); refuses files over ``max_bytes``."""
    with open_regular(path, what) as fh:
        data = fh.read(max_bytes + 1) if max_bytes is not None else fh.read()
    if max_bytes is not None and len(data) > max_bytes:
        raise RigfitError(
            f"{clean_text(str(path))}: larger than {max_bytes:,} bytes, too large for a {what}."
        )
    try:
        return data.decode(encoding, errors=errors)
    except UnicodeDecodeError as exc:
        raise RigfitError(
            f"{clean_text(str(path))}: not UTF-8 text (byte {exc.start}).", "Save it as UTF-8."
        ) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output_path(
    path: str | os.PathLike[str], *, force: bool = False, protect: tuple[Path, ...] = ()
) -> Path:
    """Check that ``path`` may be written: non-empty, short enough, not a protected file (the
    results store), not an existing folder, and not an existing file unless ``force``."""
    text = os.fspath(path)
    if not text.strip():
        raise RigfitError("The output path is empty.", "Name a file, e.g. --out results.csv.")
    p = Path(text)
    check_path_length(p, "output path")
    for q in protect:
        for cand in (q, q.with_name(q.name + "-wal"), q.with_name(q.name + "-shm")):
            if _same_file(p, cand) or p.resolve() == cand.resolve():
                raise RigfitError(
                    f"{clean_text(str(p))} is rigfit's results store; not overwritten.",
                    "Choose another output file.",
                )
    if p.is_dir():
        raise RigfitError(f"{clean_text(str(p))} is a folder.", "Name a file inside it.")
    if (p.exists() or p.is_symlink()) and not force:
        raise RigfitError(f"{clean_text(str(p))} already exists.", "Pass --force to overwrite it.")
    if p.exists() and not p.is_symlink() and not stat.S_ISREG(os.stat(p).st_mode):
        raise RigfitError(
            f"{clean_text(str(p))} is {_describe_mode(os.stat(p).st_mode)}; refusing to write it."
        )
    parent = p.parent
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise RigfitError(
            f"Cannot write into {clean_text(str(parent))}: permission denied.", "Choose a writable place."
        )
    return p


def check_output_dir(
    path: str | os.PathLike[str],
    files: tuple[str, ...] = (),
    *,
    force: bool = False,
    subdirs: tuple[str, ...] = (),
) -> Path:
    """Check, before any work, that ``path`` may take the output ``files`` (names inside it).

    Refuses an empty path (it would mean the current directory), a path that is not a folder, a
    folder rigfit cannot create or write, existing ``files`` without ``force``, and planted
    symbolic links: a file or ``subdirs`` entry inside the folder that is a link, which would
    send the write somewhere the user did not name. The folder itself may be a link the user gave.
    """
    text = os.fspath(path)
    if not text.strip():
        raise RigfitError("The output folder is empty.", "Name a folder, e.g. --out report/.")
    p = Path(text)
    check_path_length(p, "output folder")
    if p.exists() and not p.is_dir():
        raise RigfitError(f"{clean_text(str(p))} exists and is not a folder.", "Pass a folder for --out.")
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RigfitError(
            f"{clean_text(str(existing))} is a file, so {clean_text(str(p))} cannot be a folder.",
            "Choose another place for --out.",
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RigfitError(
            f"Cannot write into {clean_text(str(existing))}: permission denied.",
            "Choose a writable place for --out.",
        )
    try:  # made now, so a place that cannot hold a folder (/proc, a full disk) fails before the work
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RigfitError(
            f"Cannot create {clean_text(str(p))}: {exc.strerror or exc}.",
            "Choose a writable place for --out.",
        ) from None
    for name in subdirs:
        d = p / name
        if d.is_symlink() or (d.exists() and not d.is_dir()):
            raise RigfitError(
                f"{clean_text(str(d))} is a symbolic link or not a folder; not writing through it.",
                "Remove it, or choose another --out folder.",
            )
    for name in files:
        f = p / name
        if f.is_symlink():
            raise RigfitError(
                f"{clean_text(str(f))} is a symbolic link; not writing through it.",
                "Remove it, or choose another --out folder.",
            )
        if f.exists() and not force:
            raise RigfitError(f"{clean_text(str(f))} already exists.", "Pass --force to overwrite it.")
    return p


@contextmanager
def atomic_output(
    path: str | os.PathLike[str],
    mode: str = "w",
    *,
    force: bool = False,
    protect: tuple[Path, ...] = (),
    **open_kwargs: Any,
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    On any error the temporary file is removed and ``path`` is untouched. A symlink at ``path`` is
    replaced by the new file (the rename never writes through it).
    """
    p = check_output_path(path, force=force, protect=protect)
    try:
        import tempfile  # lazy: with shutil, ~3 ms of every command's start (issue 15)

        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name[:40]}.", suffix=".tmp", dir=p.parent)
    except OSError as exc:
        raise RigfitError(
            f"Cannot write {clean_text(str(p))}: {exc.strerror or exc}.", "Choose a writable place."
        ) from None
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, p)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def clean_text(text: object, max_chars: int | None = None) -> str:
    """``text`` with control characters (ESC, BEL, C1 …) shown as ``\\xNN`` and optionally cut to
    ``max_chars``; safe to echo to a terminal (pair with ``rich.markup.escape`` for Rich)."""
    s = str(text)
    if max_chars is not None and len(s) > max_chars:
        s = s[:max_chars] + "…"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


def csv_safe(value: object) -> object:
    """A CSV cell that a spreadsheet will not run as a formula (``=HYPERLINK(…)`` → ``'=HYPERLINK(…)``).

    Plain numbers (``-1.5``, ``+3``) pass unchanged; other text starting with ``= + - @``, tab or CR
    gets a leading apostrophe (OWASP CSV injection advice, https://owasp.org/www-community/attacks/CSV_Injection).
    """
    if not isinstance(value, str) or not value or not value.startswith(_FORMULA_PREFIXES):
        return value
    if _NUMBER.fullmatch(value):
        return value
    return "'" + value


__all__ = [
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "atomic_output",
    "check_output_dir",
    "check_output_path",
    "check_path_length",
    "clean_text",
    "csv_safe",
    "open_regular",
    "read_text_regular",
    "require_regular_file",
]
