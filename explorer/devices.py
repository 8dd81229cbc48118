"""Device names the user can ask for (auto, cpu, cuda, cuda:N, mps) and the training precision."""
from __future__ import annotations

import contextlib
import functools

import torch

from explorer.errors import ConfigError, DeviceError

# fp32: everything in float32. bf16: matmuls and convolutions autocast to bfloat16 while the weights, the
# optimiser state and the losses stay float32 (torch.autocast's CPU/CUDA op lists). Faster where the
# hardware has bf16 matmuls (AVX512-BF16/AMX CPUs, recent GPUs), at the same test error
# (benchmarks/RESULTS.md, throughput rows).
PRECISIONS = ("fp32", "bf16")


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


@functools.cache
def bf16_is_fast(device_type: str) -> bool:
    """Whether bfloat16 matmuls run in hardware here: CPUs with AVX512-BF16 or AMX, CUDA GPUs that
    support bf16. Elsewhere autocast to bf16 still works, but emulated, slower than float32."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        try:
            with open("/proc/cpuinfo") as cpuinfo:
                flags = cpuinfo.read()
        except OSError:
            return False
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def autocast(device: torch.device, precision: str = "fp32"):
    """The context a training step runs in for ``precision`` (one of :data:`PRECISIONS`)."""
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if precision == "fp32":
        return contextlib.nullcontext()
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"bf16 training is supported on cpu and cuda, not {device.type}")
    return torch.autocast(device.type, dtype=torch.bfloat16)
