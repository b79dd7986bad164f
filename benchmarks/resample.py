"""What resampling an odd sample rate costs next to a common one, in time and peak memory.

Each rate's file is ``--seconds`` of noise; ``to_mono_16k`` brings it to 16 kHz. Times are
the best of ``--repeats`` in one process, reported as a ratio to 22,050 Hz (ratio 320/441),
because this machine is shared and absolute timings are noisy. Peak memory is the largest
resident size of a fresh subprocess that imports the front end and converts once.
Odd rates (22,051 Hz is 16000/22051 in lowest terms) cost about what a common rate does;
before the bounded ratio, a 4 KB file at 22,051 Hz took 50 s and 6.4 GB.

    python benchmarks/resample.py [--seconds 60] [--repeats 5] [--rates 22050,22051,44100,44101,8000,8001]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_PEAK = """
import json, resource, sys
import numpy as np
from sage_audio_puzzle.frontend import to_mono_16k
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
samples = np.random.default_rng(0).standard_normal(int(rate * seconds)).astype(np.float32) * 0.1
to_mono_16k(samples, rate)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
"""


def best_seconds(rates: list[int], seconds: float, repeats: int) -> dict[int, float]:
    """Best time per rate, measured round-robin so load changes hit every rate alike."""
    import numpy as np

    from sage_audio_puzzle.frontend import to_mono_16k

    inputs = {rate: np.random.default_rng(0).standard_normal(int(rate * seconds)).astype(np.float32) * 0.1
              for rate in rates}
    for rate, samples in inputs.items():
        to_mono_16k(samples[: rate // 10], rate)  # first calls pay for lazy set-up
    best = {rate: float("inf") for rate in rates}
    for _ in range(repeats):
        for rate, samples in inputs.items():
            began = time.perf_counter()
            to_mono_16k(samples, rate)
            best[rate] = min(best[rate], time.perf_counter() - began)
    return best


def peak_megabytes(rate: int, seconds: float) -> float:
    result = subprocess.run([sys.executable, "-c", _PEAK, str(rate), str(seconds)], capture_output=True, text=True,
                            check=True)
    return float(json.loads(result.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rates", default="22050,22051,44100,44101,8000,8001")
    args = parser.parse_args()

    import torch

    from sage_audio_puzzle.frontend import resampling_ratio

    torch.set_num_threads(1)
    rates = [int(r) for r in args.rates.split(",")]
    best = best_seconds(sorted({22_050, *rates}), args.seconds, args.repeats)
    reference = best[22_050]
    print(f"{args.seconds:g} s of audio to 16 kHz, one thread; time relative to 22050 Hz ({reference:.3f} s)")
    print(f"{'rate':>8} {'ratio':>9} {'pitch error':>12} {'time':>7} {'peak RSS MB':>12}")
    for rate in rates:
        ratio = resampling_ratio(rate)
        error = float(ratio) / (16_000 / rate) - 1
        print(f"{rate:>8} {str(ratio):>9} {error:>12.1e} {best[rate] / reference:>6.2f}x "
              f"{peak_megabytes(rate, args.seconds):>12.0f}")

if __name__ == "__main__":
    main()
