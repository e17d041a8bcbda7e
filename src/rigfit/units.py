"""Byte and rate units: the one definition used everywhere in rigfit.

Inside rigfit, sizes are bytes and times are seconds. Binary units (GiB, MiB, KiB: powers of 2)
are what memory allocators and llama.cpp's logs report; decimal units (GB, MB: powers of 10) are
what datasheets use for bandwidth ("GB/s") and what SRAM systems publish. Every printed figure
says which one it is ("GiB" vs "GB").

The decimal multipliers are floats, as the hardware data has always used them (a bandwidth of
``936 × GB`` is a float number of bytes per second); the binary ones are exact integers.
"""

from __future__ import annotations

#: 2**10 bytes.
KIB = 1024
#: 2**20 bytes.
MIB = 1024**2
#: 2**30 bytes.
GIB = 1024**3
#: 10**6 bytes (decimal; datasheets).
MB = 1e6
#: 10**9 bytes (decimal; datasheets, "GB/s").
GB = 1e9
#: 10**12 (TFLOPS, TB/s).
TERA = 1e12

__all__ = ["GB", "GIB", "KIB", "MB", "MIB", "TERA"]
