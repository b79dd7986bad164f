"""Repository-wide test setting: one intra-op thread per process.

The suite starts many torch processes on 2 shared cores; with torch's default thread
count they oversubscribe the CPU and run several times slower. Set before torch loads.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
