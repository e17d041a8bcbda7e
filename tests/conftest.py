"""Shared fixtures. Tests are offline, deterministic and fast."""

from __future__ import annotations

import os

# Never let a test reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
