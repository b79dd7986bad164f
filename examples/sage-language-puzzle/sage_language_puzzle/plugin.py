"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, ModalitySpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_modalities(register):
    register(ModalitySpec("language", "sage_language_puzzle.modality:LanguageModality",
                          summary="UTF-8 text as windows of bytes, read row by row."))


@hookimpl
def register_compressors(register):
    register(CompressorSpec("language_puzzle", "language", "sage_language_puzzle.compressor:LanguagePuzzleCompressor",
                            config="sage_language_puzzle.config:LanguagePuzzleConfig",
                            summary="A window of UTF-8 text (bytes) -> one 30x30 puzzle -> the text."))
