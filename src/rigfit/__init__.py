"""rigfit: which open-weight LLM fits your hardware, how fast it runs, what it costs.

The library is usable without the CLI::

    from rigfit.hardware.grammar import resolve_machine
    from rigfit.catalog.models import resolve_model
    from rigfit.plan import make_plan
"""

__version__ = "0.1.0"
