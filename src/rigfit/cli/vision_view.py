"""``rigfit plan --mmproj FILE --images N --image-size WxH``: the checks and output lines (the
options are declared in :mod:`rigfit.cli.plan_options`, the physics is in
:mod:`rigfit.estimate.vision`)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.markup import escape

from rigfit.catalog.arch import ModelSpec
from rigfit.catalog.filters import capabilities
from rigfit.errors import RigfitError
from rigfit.estimate.vision import VisionSettings, catalog_projector, image_cost_lines, image_prompt_cost
from rigfit.formats.mmproj import read_mmproj
from rigfit.inputs import check_range
from rigfit.plantypes import Plan

#: Largest image side accepted [px] (a sanity bound on the input).
MAX_IMAGE_SIDE = 100_000
_SIZE_RE = re.compile(r"^\s*(\d{1,6})\s*[xX×]\s*(\d{1,6})\s*$")


def parse_image_size(text: str) -> tuple[int, int]:
    """``1280x720`` → (1280, 720); RigfitError on anything else."""
    m = _SIZE_RE.match(text)
    if m is None or not all(0 < int(v) <= MAX_IMAGE_SIDE for v in m.groups()):
        raise RigfitError(
            f"--image-size {text!r} is not WIDTHxHEIGHT in pixels.",
            f"Write e.g. --image-size 1280x720 (each side 1..{MAX_IMAGE_SIDE:,}).",
        )
    return int(m.group(1)), int(m.group(2))


def vision_settings(
    mmproj: str | None, no_mmproj_offload: bool, images: int, image_size: str | None, model: ModelSpec
) -> VisionSettings | None:
    """The plan's vision settings from the command line; None when no vision option was given.
    ``--images`` without ``--mmproj`` on a catalog vision model adds the projector its
    vision_config implies (estimated, :func:`catalog_projector`)."""
    check_range(images, "--images")
    if mmproj is None and not images and image_size is None:
        if no_mmproj_offload:
            raise RigfitError("--no-mmproj-offload needs --mmproj FILE.", "Add --mmproj mmproj-*.gguf.")
        return None
    size = parse_image_size(image_size) if image_size is not None else None
    info = read_mmproj(mmproj) if mmproj is not None else None
    if info is None and images and "vision" in capabilities(model.arch):
        info = catalog_projector(model.arch.arch, model.arch.n_embd, model.arch.extra)
    return VisionSettings(mmproj=info, offload=not no_mmproj_offload, images=images, image_size=size)


def _active_params(p: Plan) -> int | None:
    a = p.model.arch
    if a.active_params or a.total_params:
        return a.active_params or a.total_params
    return sum(t.n_elements for t in p.model.tensors) or None


def image_cost(p: Plan, vs: VisionSettings | None) -> dict[str, Any] | None:
    """What the plan's images cost (None without ``--images``)."""
    if vs is None or not vs.images:
        return None
    prefill = p.speed.prefill_tps if p.speed is not None else None
    return image_prompt_cost(vs, p.model.arch.arch, prefill, _active_params(p))


def render_vision(console: Console, p: Plan, vs: VisionSettings | None) -> None:
    """The projector line and the images' prefill cost."""
    if vs is None:
        return
    if vs.mmproj is not None:
        m = vs.mmproj
        dev = next((d for d in p.devices if d.mmproj_bytes), None)
        where = f"on {dev.name}" if dev is not None else "not placed"
        console.print(
            f"  [dim]mmproj ({escape(m.projector)} projector, {m.image_size}px / {m.patch_size}px patches): "
            f"{m.weights_bytes / 2**20:,.1f} MiB weights ({escape(m.weights_source)}) + image-encoder "
            f"compute buffer (estimated) {escape(where)}[/]"
        )
    cost = image_cost(p, vs)
    if cost is not None:
        console.print("\n[bold]Images[/]")
        for line in image_cost_lines(cost):
            console.print("  " + escape(line), highlight=False)
