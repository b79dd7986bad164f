"""From windows to reasoning tasks: which puzzle is the question, which the answer.

Two tasks, each a list of *examples* (input window, output window) per stream:

- ``next``: a window's puzzle -> the next window's puzzle of the same stream. A pair is
  made only where no window is missing between the two (see ``windows.consecutive``).
- ``pairs``: one modality's puzzle -> the other modality's puzzle at the same time, on the
  same clock: the window whose midpoint is nearest, if within ``tolerance`` seconds.

Examples are then grouped into ARC-style tasks: each stream's examples, in time order,
are cut into consecutive non-overlapping runs of ``examples_per_task``; in each run the
first ones are demonstrations (``train``) and the last ``test_examples`` are the questions
(``test``). A short run at the end of a stream becomes a smaller task when it still has a
demonstration and its questions, otherwise its examples are dropped (and counted).

Tasks are split into ``training`` and ``evaluation``: by ``time`` (default), the last
``eval_fraction`` of each stream's tasks (rounded to nearest) go to evaluation, so no
training task lies later in its stream than an evaluation task; by ``source``, whole
streams go to evaluation, chosen by a fixed hash of their names (deterministic, and
independent of the order the files were given in).
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field

from sage_core.errors import InputError, SageError
from sage_core.export.windows import Window, consecutive, group_streams, order_stream, typical_hop

TASKS = ("next", "pairs")
SPLITS = ("time", "source")
SUBSETS = ("training", "evaluation")

StreamKey = tuple[str, str, str]


@dataclass(frozen=True)
class Example:
    input: Window
    output: Window


@dataclass(frozen=True)
class Task:
    """One ARC task: demonstrations and questions from one stream, in time order."""

    name: str
    subset: str
    stream: StreamKey
    train: tuple[Example, ...]
    test: tuple[Example, ...]


@dataclass(frozen=True)
class Grouping:
    examples_per_task: int = 4
    test_examples: int = 1
    split: str = "time"
    eval_fraction: float = 0.2

    def check(self) -> None:
        if self.test_examples < 1 or self.examples_per_task < self.test_examples + 1:
            raise SageError(
                f"a task needs at least one demonstration and one question: examples per task "
                f"({self.examples_per_task}) must exceed test examples ({self.test_examples})"
            )
        if self.split not in SPLITS:
            raise SageError(f"unknown split {self.split!r}: choose one of {', '.join(SPLITS)}")
        if not 0.0 <= self.eval_fraction <= 1.0:
            raise SageError(f"eval fraction must be between 0 and 1, got {self.eval_fraction}")


@dataclass
class Examples:
    """Examples per stream (each list in time order) and notes for the user."""

    by_stream: dict[StreamKey, list[Example]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- next


def next_examples(windows: list[Window]) -> Examples:
    """Each window with the window that directly follows it in its stream."""
    result = Examples()
    gaps = 0
    lonely = 0
    for key, stream in sorted(group_streams(windows).items()):
        ordered, _ = order_stream(stream)
        hop = typical_hop(ordered)
        examples = []
        for before, after in zip(ordered, ordered[1:]):
            if consecutive(before, after, hop):
                examples.append(Example(before, after))
            else:
                gaps += 1
        if examples:
            result.by_stream[key] = examples
        elif len(ordered) == 1:
            lonely += 1
    if gaps:
        result.notes.append(f"{gaps} place(s) where a stream has a missing window: no pair made across them")
    if lonely:
        result.notes.append(f"{lonely} source(s) with a single window: nothing follows it, so no pair")
    return result


# ---------------------------------------------------------------- pairs


def _one_model(windows: list[Window], modality: str) -> None:
    models = sorted({(w.meta.compressor_id, str(w.meta.compressor_version)) for w in windows})
    if len(models) > 1:
        listed = ", ".join(f"{cid} v{version}" for cid, version in models)
        raise SageError(f"the {modality} puzzles come from several compressors ({listed}); export one at a time")


def _require_times(windows: list[Window]) -> None:
    for window in windows:
        if window.time is None:
            raise InputError(
                window.file,
                "has no times: --task pairs matches puzzles of two modalities by time (puzzles "
                "from a live stream or a puzzle log carry them)",
            )


def pick_modalities(windows: list[Window], input_modality: str | None, output_modality: str | None) -> tuple[str, str]:
    """The input and output modality: given, or the first file's modality and the other one."""
    present = list(dict.fromkeys(w.modality for w in windows))
    for name, given in (("input", input_modality), ("output", output_modality)):
        if given is not None and given not in present:
            raise SageError(f"no {given} puzzles among the files (they hold: {', '.join(present)}); check --{name}-modality")
    if len(present) < 2:
        raise SageError(f"--task pairs needs puzzles of two modalities; these files hold only {present[0]}")
    source = input_modality or (present[0] if output_modality != present[0] else present[1])
    if output_modality is None:
        others = [m for m in present if m != source]
        if len(others) > 1:
            raise SageError(f"the files hold {', '.join(present)}: choose the answer's modality with --output-modality")
        output_modality = others[0]
    if source == output_modality:
        raise SageError(f"input and output modality are both {source}: pairs joins two different modalities")
    return source, output_modality


def pair_examples(
    windows: list[Window], input_modality: str | None, output_modality: str | None, tolerance: float
) -> Examples:
    """Each input-modality window with the output-modality window nearest in time."""
    source, target = pick_modalities(windows, input_modality, output_modality)
    inputs = [w for w in windows if w.modality == source]
    outputs = [w for w in windows if w.modality == target]
    for group, modality in ((inputs, source), (outputs, target)):
        _require_times(group)
        _one_model(group, modality)
    clocks: dict[str, str] = {}
    for window in inputs + outputs:
        clocks.setdefault(str(window.file), window.clock)
    if len(set(clocks.values())) > 1:
        listed = ", ".join(f"{path} ({clock or 'no clock'})" for path, clock in clocks.items())
        raise SageError(f"puzzles on different clocks cannot be matched by time: {listed}")
    per_source_clock = next(iter(clocks.values())) == "source"

    def timeline(window: Window) -> str:
        # Seconds "from the start of the source" compare only within one source.
        return window.base if per_source_clock else ""

    candidates: dict[str, list[Window]] = defaultdict(list)
    for window in outputs:
        candidates[timeline(window)].append(window)
    midpoints: dict[str, list[float]] = {}
    for line, group in candidates.items():
        group.sort(key=lambda w: (w.midpoint, str(w.file), w.position))
        midpoints[line] = [w.midpoint for w in group]

    result = Examples()
    unmatched = 0
    for key, stream in sorted(group_streams(inputs).items()):
        ordered, _ = order_stream(stream)
        examples = []
        for window in ordered:
            line = timeline(window)
            match = _nearest(candidates.get(line, []), midpoints.get(line, []), window.midpoint, tolerance)
            if match is None:
                unmatched += 1
            else:
                examples.append(Example(window, match))
        if examples:
            result.by_stream[key] = examples
    if unmatched:
        result.notes.append(
            f"{unmatched} {source} puzzle(s) had no {target} puzzle within {tolerance} s: not paired"
        )
    return result


def _nearest(group: list[Window], mids: list[float], midpoint: float, tolerance: float) -> Window | None:
    """The window whose midpoint is nearest (the earlier one on a tie), if within tolerance."""
    at = bisect.bisect_left(mids, midpoint)
    best: tuple[float, int] | None = None
    for index in (at - 1, at):
        if 0 <= index < len(group):
            distance = abs(mids[index] - midpoint)
            if best is None or distance < best[0]:
                best = (distance, index)
    if best is None or best[0] > tolerance:
        return None
    return group[best[1]]


# ---------------------------------------------------------------- grouping and split


def _slug(base: str) -> str:
    name = base.replace("\\", "/").rsplit("/", 1)[-1]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")[:40].strip("-")
    return slug or "stream"


def _digest(key: StreamKey) -> str:
    return hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()


def task_name(kind: str, key: StreamKey, number: int) -> str:
    """``next-talk-wav-1a2b3c4d-0003``: readable, unique per stream, no underscore.

    HRM's ARC evaluator reads an underscore in a puzzle name as the mark of an augmented
    copy, so names never contain one.
    """
    return f"{kind}-{_slug(key[2])}-{_digest(key)[:8]}-{number:04d}"


def _n_eval(fraction: float, count: int) -> int:
    return min(count, int(fraction * count + 0.5))


def group_tasks(kind: str, examples: Examples, grouping: Grouping) -> tuple[list[Task], list[str]]:
    """Cut each stream's examples into tasks and split them; tasks sorted training first, then by name."""
    grouping.check()
    size, questions = grouping.examples_per_task, grouping.test_examples
    runs_by_stream: dict[StreamKey, list[list[Example]]] = {}
    dropped = 0
    for key, stream_examples in examples.by_stream.items():
        runs = [stream_examples[i : i + size] for i in range(0, len(stream_examples), size)]
        if runs and len(runs[-1]) < questions + 1:
            dropped += len(runs.pop())
        if runs:
            runs_by_stream[key] = runs
    evaluation_streams: set[StreamKey] = set()
    if grouping.split == "source":
        ranked = sorted(runs_by_stream, key=_digest)
        n_eval = _n_eval(grouping.eval_fraction, len(ranked))
        evaluation_streams = set(ranked[len(ranked) - n_eval :])
    tasks = []
    for key, runs in runs_by_stream.items():
        first_eval = len(runs) - _n_eval(grouping.eval_fraction, len(runs))
        for number, run in enumerate(runs):
            if grouping.split == "source":
                subset = "evaluation" if key in evaluation_streams else "training"
            else:
                subset = "evaluation" if number >= first_eval else "training"
            tasks.append(Task(task_name(kind, key, number), subset, key, tuple(run[:-questions]), tuple(run[-questions:])))
    tasks.sort(key=lambda t: (t.subset != "training", t.name))
    notes = list(examples.notes)
    if dropped:
        notes.append(
            f"{dropped} example(s) at the end of a stream were too few for a task "
            f"(a task needs {questions + 1}): not exported"
        )
    return tasks, notes
