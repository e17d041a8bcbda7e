"""``rigfit plan``: will a model fit a machine, with what memory per device, and how to run it.

This module makes the Typer command from the options :class:`rigfit.cli.plan_options.PlanOptions`
declares (names, types, defaults, flags, help); the work and the output are in
:mod:`rigfit.cli.plan_view`.
"""

import inspect
from typing import Annotated, Any

import typer

from rigfit.cli.app import app
from rigfit.cli.plan_options import MODEL_HELP, option_fields
from rigfit.cli.plan_view import run_plan


def plan(model: str, **options: Any) -> None:
    """Plan a model on a machine: memory per device, verdict, and the command line to run it.

    Examples:

      rigfit plan llama-3.1-8b --on "RTX 3060 12GB + Ryzen 7 5800X + 32GB DDR4-3200"

      rigfit plan qwen2.5-14b --on "RTX 3060 12GB + 32GB" --max-ctx

      rigfit plan llama-3.1-70b --on "RTX 4090 + 64GB DDR5" --ctx 8192 --kv-type q8_0

      rigfit plan ./model.gguf --on local --json

      rigfit plan unsloth/Qwen3-30B-A3B-GGUF:Q4_K_M --on "RTX 4090 + 64GB"

      rigfit plan qwen3-8b --on "RTX 3090" --users 8 --prompt 2000 --output 500 --min-tps 20

      rigfit plan qwen2.5-14b --on "RTX 4090" --ctx 65536 -ctk q8_0 -ctv q5_1 --kv-types

      rigfit plan qwen3-8b --draft qwen3-0.6b --draft-max 5 --task code --on "RTX 3060 12GB"

      rigfit plan ./GLM-4.5-Air-Q4_K_M.gguf --mtp --on "2x RTX 3090 + 128GB"

      rigfit plan qwen3-30b-a3b --on "RTX 3060 12GB + 32GB" --reserve-ram 8GB
    """
    run_plan(model, **options)


def _signature() -> inspect.Signature:
    """``plan``'s parameters as Typer reads them: MODEL, then one ``Annotated[type, typer.Option(…)]``
    keyword per field of :class:`PlanOptions`, with its default (the annotations are objects, so
    Typer evaluates no annotation text)."""
    model = inspect.Parameter(
        "model",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[str, typer.Argument(help=MODEL_HELP)],
    )
    options = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default,
            annotation=Annotated[f.type, typer.Option(*f.metadata["flags"], help=f.metadata["help"])],
        )
        for f in option_fields()
    ]
    return inspect.Signature([model, *options], return_annotation=None)


plan.__signature__ = _signature()  # type: ignore[attr-defined]
app.command()(plan)
