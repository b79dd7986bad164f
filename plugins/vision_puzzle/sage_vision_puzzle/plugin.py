"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, ModalitySpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_modalities(register):
    register(
        ModalitySpec(
            name="vision",
            factory="sage_vision_puzzle.modality:VisionModality",
            summary="RGB images, resized to R x R; each puzzle cell is an R/30 x R/30 patch.",
        )
    )


@hookimpl
def register_compressors(register):
    register(
        CompressorSpec(
            id="vision_puzzle",
            modality="vision",
            factory="sage_vision_puzzle.compressor:VisionPuzzleCompressor",
            config="sage_vision_puzzle.config:VisionPuzzleConfig",
            summary="RGB images -> 30x30 puzzle (higher code = brighter cell) -> images.",
        )
    )
    register(
        CompressorSpec(
            id="vision_prototype",
            modality="vision",
            factory="sage_vision_puzzle.prototype:VisionPrototypeCompressor",
            config="sage_vision_puzzle.config:VisionPrototypeConfig",
            summary="Reference only: the research prototype's vision VQ-VAE, re-implemented for benchmarks.",
            reference=True,
        )
    )
