"""Model weights in and out as safetensors: no pickle, so a weights file can never run code."""

from __future__ import annotations

from pathlib import Path

from safetensors.torch import load_file, save
from torch import nn

from sage_core.atomic import write_bytes_atomic
from sage_core.errors import SageError


def save_weights(model: nn.Module, path: Path, metadata: dict[str, str]) -> None:
    """``model``'s state dict as safetensors (tensors copied to CPU, sharing undone), atomically.

    Serialized in memory first, so a full disk is an ``OSError`` naming ``path``.
    """
    tensors = {key: value.detach().to("cpu").clone().contiguous() for key, value in model.state_dict().items()}
    write_bytes_atomic(path, save(tensors, metadata=metadata))


def load_weights(model: nn.Module, path: Path) -> None:
    """Load safetensors weights into ``model``; unreadable or mismatched weights are a clear error."""
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types
        raise SageError(f"{path}: unreadable weights ({exc})") from None
    try:
        missing, unexpected = model.load_state_dict(tensors, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise SageError(f"{path}: weights do not fit {type(model).__name__} ({str(exc).splitlines()[-1].strip()})") from None
    if missing or unexpected:
        raise SageError(
            f"{path}: weights do not fit {type(model).__name__} "
            f"(missing: {', '.join(missing) or '-'}; unexpected: {', '.join(unexpected) or '-'})"
        )
