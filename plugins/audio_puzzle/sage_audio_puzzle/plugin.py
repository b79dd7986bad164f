"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, DataSourceSpec, ModalitySpec, SensorSpec, hookimpl

SAGE_PLUGIN_API = 2


@hookimpl
def register_modalities(register):
    register(
        ModalitySpec(
            name="audio",
            factory="sage_audio_puzzle.modality:AudioModality",
            summary="1 s of 16 kHz audio as a 128x32 log-mel (row 0 = lowest band, columns = time).",
        )
    )


@hookimpl
def register_compressors(register):
    register(
        CompressorSpec(
            id="audio_puzzle",
            modality="audio",
            factory="sage_audio_puzzle.compressor:AudioPuzzleCompressor",
            shipped_run="sage_audio_puzzle:shipped/audio_puzzle",
            config="sage_audio_puzzle.config:AudioPuzzleConfig",
            summary="1 s of 16 kHz audio -> log-mel spectrogram -> 30x30 puzzle, and back.",
        )
    )
    register(
        CompressorSpec(
            id="audio_prototype",
            modality="audio",
            factory="sage_audio_puzzle.prototype:AudioPrototypeCompressor",
            config="sage_audio_puzzle.config:AudioPrototypeConfig",
            summary="Reference only: the research prototype's audio VQ-VAE, for benchmarks.",
            reference=True,
        )
    )


@hookimpl
def register_data_sources(register):
    register(
        DataSourceSpec(
            name="speech_commands",
            modality="audio",
            factory="sage_audio_puzzle.datasets:speech_commands_splits",
            summary="A local Speech Commands v2 folder (--data PATH), split by speaker.",
        )
    )


@hookimpl
def register_sensors(register):
    register(
        SensorSpec(
            name="mic",
            modality="audio",
            factory="sage_audio_puzzle.sensors:MicrophoneSensor",
            summary="A microphone through PortAudio: mic (default input) or mic:DEVICE.",
            extra={"install": "pip install 'sage-audio-puzzle[mic]'"},
        )
    )
    register(
        SensorSpec(
            name="audio_file",
            modality="audio",
            factory="sage_audio_puzzle.sensors:AudioFileSensor",
            opens="file",
            summary="An audio file (WAV, FLAC, OGG: anything libsndfile reads) replayed in real time or at --speed N.",
        )
    )
    register(
        SensorSpec(
            name="pcm_stdin",
            modality="audio",
            factory="sage_audio_puzzle.sensors:PcmStdinSensor",
            opens="stdin",
            summary="Raw PCM on stdin (-): --pcm-format s16le|s32le|f32le, --rate, --channels.",
        )
    )
