"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, hookimpl

SAGE_PLUGIN_API = 1


@hookimpl
def register_compressors(register):
    register(
        CompressorSpec(
            id="language_puzzle",
            modality="language",
            factory="sage_language_puzzle.compressor:LanguagePuzzleCompressor",
            config="sage_language_puzzle.config:LanguagePuzzleConfig",
            summary="A window of UTF-8 text (bytes) -> one 30x30 puzzle -> the text.",
        )
    )
