"""The puzzle's fixed shape, defined once: 30x30 cells, each holding one of 10 codes.

Dependency-free so that ``sage --help`` can import it without numpy or torch.
"""

from __future__ import annotations

import math

GRID_SIZE = 30
NUM_CODES = 10
CELLS = GRID_SIZE * GRID_SIZE
#: Bits a cell can carry: log2 10.
MAX_BITS_PER_CELL = math.log2(NUM_CODES)
#: Bits a puzzle can carry: 900 cells x log2 10, about 2,990.
CAPACITY_BITS = CELLS * MAX_BITS_PER_CELL
