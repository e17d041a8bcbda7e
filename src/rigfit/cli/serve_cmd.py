"""``rigfit serve``: the planner as a local web app.

Starlette and uvicorn are imported inside the command (documented lazy loading): they cost ~0.1 s
at start-up, and ``rigfit plan`` must not pay for a web server it does not start.
"""

from __future__ import annotations

import ipaddress
import socket

import typer

from rigfit.cli.app import app, err_console
from rigfit.errors import RigfitError


def is_loopback(host: str) -> bool:
    """True when ``host`` only listens on this machine (127.0.0.0/8, ::1 or 'localhost')."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_port_free(host: str, port: int) -> None:
    """One clear line instead of uvicorn's traceback when the port is taken."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RigfitError(f"Cannot bind --host {host!r}: {exc.strerror}.", "e.g. --host 127.0.0.1") from None
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise RigfitError(
                f"Cannot listen on {host}:{port}: {exc.strerror}.",
                f"Try another port, e.g. --port {port + 1}.",
            ) from None


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="TCP port."),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn log level: info, warning, error."),
) -> None:
    """Run the planner as a local web app: plan, recommend, compare, floor & cost, measurements.

    It listens on 127.0.0.1 (this machine only) unless --host says otherwise, and loads nothing
    from the network. The JSON API is described at /api/openapi.json.

    Examples:

      rigfit serve

      rigfit serve --port 9000

      rigfit serve --host 0.0.0.0    (reachable from the network: read the warning)
    """
    if log_level not in ("critical", "error", "warning", "info", "debug", "trace"):
        raise RigfitError(f"Unknown --log-level {log_level!r}.", "Use info, warning or error.")
    _check_port_free(host, port)
    try:  # lazy: the web stack is only needed here
        import uvicorn

        from rigfit.serve.app import create_app
    except ImportError as exc:
        raise RigfitError(
            f"rigfit serve needs starlette and uvicorn ({exc.name} is missing).",
            "pip install 'starlette>=0.40' 'uvicorn>=0.30'",
        ) from None
    if not is_loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] listening on {host}: anyone who can reach this "
            "machine on the network can use the planner and read your results store "
            "and local model list. Use --host 127.0.0.1 to keep it on this machine.",
            highlight=False,
            soft_wrap=True,
        )
    config = uvicorn.Config(create_app(), host=host, port=port, log_level=log_level, access_log=False)
    server = uvicorn.Server(config)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    print(f"rigfit serve: http://{shown}:{port}/  (Ctrl+C to stop)", flush=True)
    server.run()
