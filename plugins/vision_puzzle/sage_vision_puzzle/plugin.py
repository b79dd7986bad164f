"""Registration only: imports nothing heavy, so `sage plugins` stays fast."""

from sage_core import CompressorSpec, ModalitySpec, SensorSpec, hookimpl

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
            shipped_run="sage_vision_puzzle:shipped/vision_puzzle",
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


@hookimpl
def register_sensors(register):
    register(
        SensorSpec(
            name="camera",
            modality="vision",
            factory="sage_vision_puzzle.sensors:CameraSensor",
            summary="A camera through OpenCV: camera (device 0) or camera:N.",
            extra={"install": "pip install 'sage-vision-puzzle[camera]'"},
        )
    )
    register(
        SensorSpec(
            name="video_file",
            modality="vision",
            factory="sage_vision_puzzle.sensors:VideoFileSensor",
            opens="file",
            summary="A video file (MP4, AVI, MKV...) replayed in real time or at --speed N.",
            extra={"install": "pip install 'sage-vision-puzzle[camera]'"},
        )
    )
    register(
        SensorSpec(
            name="image_folder",
            modality="vision",
            factory="sage_vision_puzzle.sensors:ImageFolderSensor",
            opens="file",
            summary="A folder of images (by name) or one image, replayed as frames at --frame-rate.",
        )
    )
