"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, hookimpl

SAGE_PLUGIN_API = 1


@hookimpl
def register_compressors(register):
    register(
        CompressorSpec(
            id="audio_puzzle",
            modality="audio",
            factory="sage_audio_puzzle.compressor:AudioPuzzleCompressor",
            config="sage_audio_puzzle.config:AudioPuzzleConfig",
            summary="1 s of 16 kHz audio -> log-mel spectrogram -> 30x30 puzzle, and back.",
        )
    )
