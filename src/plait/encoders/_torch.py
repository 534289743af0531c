"""Torch helpers shared by the back ends (imported only when a model is built)."""

from __future__ import annotations

from typing import Any

from plait._deps import require
from plait.errors import ConfigError

DTYPES = ("fp32", "bf16", "fp16")


def torch_module(component: str) -> Any:
    return require("torch", "embed", component)


def torch_dtype(name: str, component: str) -> Any:
    torch = torch_module(component)
    table = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if name not in table:
        raise ConfigError(f"{component}: dtype must be one of {', '.join(DTYPES)}, not {name!r}")
    return table[name]


def resolve_device(device: str | None, component: str) -> str:
    """``auto`` (the default) picks CUDA when present, else CPU."""
    torch = torch_module(component)
    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"{component}: device {device!r} asked for, but CUDA is not available")
    return device


def as_int(value: Any, name: str, component: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{component}: option {name} must be an integer, not {value!r}") from None
