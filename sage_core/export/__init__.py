"""Puzzles for a downstream reasoner: ARC task JSON and HRM's dataset arrays.

``export_puzzles`` turns puzzle files into reasoning tasks (``next``: what comes next in a
stream; ``pairs``: what another sensor saw at the same time) and writes them as ARC-AGI
task files (``arc``) or as the arrays HRM trains on (``hrm``). See docs/export.md.
Only numpy is needed; nothing here imports torch.
"""

from __future__ import annotations

from sage_core.export.arc import ArcTask, ArcTaskPuzzles, load_arc_puzzles, read_arc_dir, read_arc_task, task_puzzles
from sage_core.export.exporter import FORMATS, ExportOptions, ExportSummary, build_tasks, export_puzzles
from sage_core.export.hrm import build_hrm, write_hrm
from sage_core.export.tasks import SPLITS, TASKS, Grouping

__all__ = [
    "FORMATS",
    "SPLITS",
    "TASKS",
    "ArcTask",
    "ArcTaskPuzzles",
    "ExportOptions",
    "ExportSummary",
    "Grouping",
    "build_hrm",
    "build_tasks",
    "export_puzzles",
    "load_arc_puzzles",
    "read_arc_dir",
    "read_arc_task",
    "task_puzzles",
    "write_hrm",
]
