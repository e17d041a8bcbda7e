"""``rigfit machine save|list|remove``: saved machines, then ``--on NAME`` anywhere."""

from __future__ import annotations

import typer
from rich.markup import escape

from rigfit.cli.app import app, console, print_json
from rigfit.hardware.grammar import resolve_machine
from rigfit.hardware.profiles import load_profiles, profiles_file, remove_profile, save_profile

machine_app = typer.Typer(
    help="Save a machine description under a short name, then use --on NAME anywhere.",
    no_args_is_help=True,
)
app.add_typer(machine_app, name="machine")


@machine_app.command("save")
def machine_save(
    name: str = typer.Argument(..., help="One word, e.g. home (not a device name, not 'local')."),
    description: str = typer.Argument(
        ..., help="A machine description, e.g. 'RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200'."
    ),
) -> None:
    """Save DESCRIPTION as NAME (checked first; replaces an earlier NAME).

    Example: rigfit machine save home "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"
    """
    resolved, replaced = save_profile(name, description, resolve_machine)
    verb = "replaced" if replaced else "saved"
    console.print(f"{verb} machine [bold]{escape(name)}[/]: {escape(resolved)}", highlight=False)
    console.print(f"  use it with --on {escape(name)}  ({escape(str(profiles_file()))})", highlight=False)


@machine_app.command("list")
def machine_list(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List saved machines (name and description)."""
    profiles = load_profiles()
    if json_out:
        print_json(
            {
                "schema": "rigfit.machine-list/1",
                "file": str(profiles_file()),
                "machines": [{"name": k, "description": v} for k, v in sorted(profiles.items())],
            }
        )
        return
    if not profiles:
        console.print(
            'No saved machines. Save one with: rigfit machine save home "RTX 3060 12GB + 32GB DDR4-3200"',
            highlight=False,
        )
        return
    width = max(len(k) for k in profiles)
    for name, desc in sorted(profiles.items()):
        console.print(f"{escape(name.ljust(width))}  {escape(desc)}", highlight=False)


@machine_app.command("remove")
def machine_remove(name: str = typer.Argument(..., help="A saved machine's name.")) -> None:
    """Delete the saved machine NAME."""
    remove_profile(name)
    console.print(f"removed machine {escape(name)}", highlight=False)
