"""1 s of 16 kHz audio -> log-mel spectrogram -> 30x30 puzzle, and back."""
