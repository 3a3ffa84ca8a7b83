"""Export of conventional models to ONNX, checked with ``onnx.checker`` and onnxruntime."""

from __future__ import annotations

import io
from pathlib import Path

import torch
from torch import nn

from neuropipe.core.errors import ModelError
from neuropipe.core.files import write_bytes_atomic

ONNX_TOLERANCE = 1e-5


def export_onnx(model: nn.Module, sample: torch.Tensor, path: Path) -> float:
    """Export ``model`` to ONNX at ``path`` and check it against torch.

    The file is checked with ``onnx.checker`` and run in onnxruntime on ``sample``; the largest
    absolute difference from torch's output must be below ``ONNX_TOLERANCE``.

    Args:
        model: A conventional (non-spiking) model.
        sample: A batch of inputs, ``(N, 1, 28, 28)``.
        path: Where to write ``model.onnx`` (atomically, only after the checks pass).

    Returns:
        The largest absolute difference between onnxruntime and torch.

    Raises:
        ModelError: If the check or the comparison fails.
    """
    import onnx
    import onnxruntime as ort

    model = model.eval().cpu()
    buffer = io.BytesIO()
    torch.onnx.export(model, (sample,), buffer, dynamo=False, input_names=["image"],
                      output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}})
    data = buffer.getvalue()
    onnx.checker.check_model(onnx.load_from_string(data))
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"image": sample.numpy()})[0]
    with torch.no_grad():
        want = model(sample).numpy()
    diff = float(abs(got - want).max())
    if diff > ONNX_TOLERANCE:
        raise ModelError(f"ONNX export differs from torch by {diff:.2e} (> {ONNX_TOLERANCE})")
    write_bytes_atomic(path, data)
    return diff
