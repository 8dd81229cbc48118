"""Device names the user can ask for: auto, cpu, cuda, cuda:N, mps."""
from __future__ import annotations

import torch

from explorer.errors import DeviceError


def available_devices() -> list[str]:
    """Devices present on this machine, best first is not implied: cpu, then cuda:N, then mps."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda:0, then mps, then cpu. An absent device raises :class:`DeviceError`."""
    present = available_devices()
    if name == "auto":
        best = next((d for d in present if d.startswith("cuda")), None) or ("mps" if "mps" in present else "cpu")
        return torch.device(best)
    wanted = "cuda:0" if name == "cuda" else name
    if wanted not in present:
        raise DeviceError(f"device {name!r} is not available here; available: {', '.join(present)} (or auto)")
    return torch.device(wanted)
