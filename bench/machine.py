"""The machine a benchmark ran on, in one line (CPU model, vector flags, cores, load)."""

from __future__ import annotations

import os
import re
from pathlib import Path


def machine() -> str:
    cpu = flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1)  # type: ignore[union-attr]
        fl = re.search(r"flags\s*:\s*(.*)", text).group(1).split()  # type: ignore[union-attr]
        flags = " ".join(f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in fl)
    except (OSError, AttributeError):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{cpu}; flags: {flags}; cores: {os.cpu_count()}; load average: {load}"
