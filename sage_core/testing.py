"""``check_compressor``: the contract suite every plugin's tests call.

    from sage_core.testing import check_compressor

    def test_contract():
        check_compressor("my_puzzle")          # by registered id, with its default config
        check_compressor(MyCompressor(cfg))    # or an instance (tiny sizes for speed)

It raises ``AssertionError`` naming the broken rule: the compressor's and its modality's.
Samples come from the modality's own held-out data unless ``samples`` is given.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from sage_core.config import CompressorConfig
from sage_core.contract import CompressorOutput, PuzzleCompressor
from sage_core.data import DataReport, cache_dir, labels_of
from sage_core.errors import ConfigError
from sage_core.modality import Modality
from sage_core.puzzle import Puzzle


def _instantiate(id_or_instance: str | PuzzleCompressor) -> PuzzleCompressor:
    if isinstance(id_or_instance, PuzzleCompressor):
        return id_or_instance
    from sage_core.plugins import load_plugins

    registry = load_plugins()
    spec = registry.compressor(id_or_instance)
    cls = spec.load()  # checks the class's id and modality against the spec
    assert spec.modality in registry.modalities, f"modality {spec.modality!r} is not registered"
    assert registry.modality(spec.modality).load() is cls.Modality, (
        f"{cls.__name__}.Modality is not the registered modality {spec.modality!r}")
    return cls(cls.Config())


def _held_out_samples(compressor: PuzzleCompressor, n: int) -> Tensor:
    splits = compressor.modality.build_datasets(None, cache_dir(), DataReport())
    dataset = splits.test if len(splits.test) else splits.validation  # type: ignore[arg-type]
    count = min(n, len(dataset))  # type: ignore[arg-type]
    assert count >= 2, "the embedded default data needs at least 2 held-out samples"
    _check_labels(splits, dataset)
    return torch.stack([dataset[i] for i in range(count)])


def _check_labels(splits: object, dataset: object) -> None:
    """Labels, where a modality's data has them, are class indices aligned with the samples."""
    labels = labels_of(dataset)  # type: ignore[arg-type]
    classes = getattr(splits, "classes", None)
    if labels is None:
        return
    assert classes, "samples carry labels but DataSplits.classes names none"
    assert len(labels) == len(dataset), "labels are not aligned with the samples"  # type: ignore[arg-type]
    assert int(labels.min()) >= -1 and int(labels.max()) < len(classes), "a label is outside DataSplits.classes"


def check_compressor(
    id_or_instance: str | PuzzleCompressor,
    samples: Tensor | None = None,
    n: int = 6,
) -> PuzzleCompressor:
    """Run every contract check; return the compressor for further tests."""
    compressor = _instantiate(id_or_instance)
    cls = type(compressor)
    for attribute in ("id", "Modality", "version", "Config"):
        assert getattr(cls, attribute, None), f"{cls.__name__}.{attribute} is not set"
    _check_modality_class(cls)
    x = samples if samples is not None else _held_out_samples(compressor, n)
    torch.manual_seed(0)
    compressor.eval()

    _check_config(cls)
    codes = _check_codes(compressor, x)
    _check_batch_invariance(compressor, x, codes)
    _check_decode(compressor, x, codes)
    _check_forward(compressor, x)
    _check_puzzle_round_trip(compressor, x)
    _check_analysis(compressor, x)
    compressor.eval()
    return compressor


def _check_modality_class(cls: type[PuzzleCompressor]) -> None:
    modality = cls.Modality
    assert isinstance(modality, type) and issubclass(modality, Modality), "Modality must subclass sage_core.Modality"
    assert getattr(modality, "name", None), f"{modality.__name__}.name is not set"
    assert isinstance(cls.Config().modality, modality.Config), (
        f"{cls.Config.__name__}.modality must be a {modality.Config.__name__} (the modality's config)")


def _check_config(cls: type[PuzzleCompressor]) -> None:
    from sage_core.config import resolve_config

    config = cls.Config()
    assert isinstance(config, CompressorConfig), "Config must subclass sage_core.CompressorConfig"
    again = cls.Config.model_validate_json(config.model_dump_json())
    assert again == config, "Config does not survive a JSON round trip"
    try:
        resolve_config(cls.Config, overrides=["no_such_field_xyz=1"])
    except ConfigError:
        pass
    else:
        raise AssertionError("Config accepts unknown fields; use model_config extra='forbid'")


def _check_codes(compressor: PuzzleCompressor, x: Tensor) -> Tensor:
    with torch.no_grad():
        codes = compressor.encode_codes(x)
    assert codes.shape == (len(x), 30, 30), f"encode_codes gave shape {tuple(codes.shape)}, want (N, 30, 30)"
    assert not codes.dtype.is_floating_point, f"codes must be integers, got {codes.dtype}"
    assert int(codes.min()) >= 0 and int(codes.max()) <= 9, "codes must be in 0-9"
    with torch.no_grad():
        again = compressor.encode_codes(x)
    assert torch.equal(codes, again), "encoding the same input twice gave different codes"
    return codes


def _check_batch_invariance(compressor: PuzzleCompressor, x: Tensor, codes: Tensor) -> None:
    with torch.no_grad():
        for i in range(len(x)):
            alone = compressor.encode_codes(x[i : i + 1])
            assert torch.equal(alone[0], codes[i]), f"sample {i}: puzzle alone differs from in a batch"
        reversed_codes = compressor.encode_codes(x.flip(0))
        assert torch.equal(reversed_codes.flip(0), codes), "puzzles depend on batch order"
        loud = torch.cat([x, x[:1] * 0 + x.max()])
        assert torch.equal(compressor.encode_codes(loud)[:-1], codes), "a batch-mate changed puzzles"


def _check_decode(compressor: PuzzleCompressor, x: Tensor, codes: Tensor) -> None:
    with torch.no_grad():
        x_hat = compressor.decode_codes(codes)
    assert x_hat.shape == x.shape, f"decode_codes gave {tuple(x_hat.shape)}, input was {tuple(x.shape)}"
    assert torch.isfinite(x_hat).all(), "decode_codes produced NaN or inf"


def _check_forward(compressor: PuzzleCompressor, x: Tensor) -> None:
    compressor.train()
    out = compressor(x)
    compressor.eval()
    assert isinstance(out, CompressorOutput), "forward must return CompressorOutput"
    assert out.loss.ndim == 0 and torch.isfinite(out.loss), "forward loss must be a finite scalar"
    assert out.codes.shape == (len(x), 30, 30), "forward codes must be (N, 30, 30)"
    assert out.reconstruction.shape == x.shape, "forward reconstruction must have the input's shape"
    out.loss.backward()
    grads = [p.grad for p in compressor.parameters() if p.requires_grad]
    assert any(g is not None and bool(g.abs().sum() > 0) for g in grads), "loss has no gradient"
    compressor.zero_grad(set_to_none=True)


def _check_puzzle_round_trip(compressor: PuzzleCompressor, x: Tensor) -> None:
    puzzle = compressor.encode(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = puzzle.save(Path(tmp) / "p.npz")
        loaded = Puzzle.load(path)
        assert loaded == puzzle, "puzzle save/load is not lossless"
        decoded = compressor.decode(loaded)
        assert decoded.shape == x.shape, "decode(Puzzle) does not restore the input shape"
        written = compressor.modality.write_output(decoded[:1], Path(tmp) / "out")
        assert written and all(Path(p).exists() for p in written), "write_output wrote nothing"
    assert puzzle.meta.compressor_id == compressor.id and puzzle.meta.modality == compressor.modality.name


def _check_analysis(compressor: PuzzleCompressor, x: Tensor) -> None:
    modality = compressor.modality
    with torch.no_grad():
        x_hat = compressor.decode_codes(compressor.encode_codes(x))
        metrics = modality.reconstruction_metrics(x, x_hat)
        for name in {modality.primary_metric, "mse01"}:
            assert name in metrics, f"reconstruction_metrics lacks {name!r}"
        for name, value in metrics.items():
            assert value.shape == (len(x),), f"metric {name!r} must be per sample (N,), got {tuple(value.shape)}"
            assert torch.isfinite(value).all(), f"metric {name!r} is not finite"
        base_codes, base_hat = modality.baseline_codec(x)
        assert base_codes.shape == (len(x), 30, 30), "baseline_codec codes must be (N, 30, 30)"
        assert int(base_codes.min()) >= 0 and int(base_codes.max()) <= 9, "baseline codes must be 0-9"
        assert base_hat.shape == x.shape, "baseline_codec reconstruction must have the input's shape"
        intensity = modality.cell_intensity(x_hat)
        assert intensity.shape == (len(x), 30, 30), "cell_intensity must be (N, 30, 30)"
        image = np.asarray(modality.to_image(x[0]))
        assert image.ndim in (2, 3) and np.isfinite(image).all(), "to_image must give a finite 2-D/RGB image"


__all__ = ["check_compressor"]
