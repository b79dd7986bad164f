"""``sage encode``, ``sage decode`` and ``sage show``: files to puzzles and puzzles back to files.

Nothing a user has is lost: an output never replaces an input, and replaces another
existing file only with ``--force``; every source in a puzzle file decodes to its own output.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from sage_core.cli.context import get_registry
from sage_core.errors import InputError, PluginError, SageError, exception_line


def _load(ref: str, runs_root: Path) -> Any:  # -> PuzzleCompressor
    from sage_core.runs import load_compressor, resolve_run

    run_dir = resolve_run(ref, get_registry(), root=runs_root)
    return load_compressor(run_dir, registry=get_registry())


def _load_puzzles(path: Path) -> Any:  # -> Puzzle
    """A puzzle ``.npz`` or puzzle log ``.jsonl``; a torn last log line is a warning, not an error."""
    from sage_core.puzzle_log import load_puzzles

    return load_puzzles(path, report=lambda message: click.echo(f"sage: warning: {message}", err=True))


def check_output(out: Path, inputs: tuple[Path, ...] = (), force: bool = False) -> None:
    """Refuse an output path that would destroy something or cannot be written, before any work.

    An input is never replaced, nor a folder; another existing file only with ``--force``.
    """
    from sage_core.atomic import check_writable_folder

    if any(_same_file(out, source) for source in inputs):
        raise InputError(out, "is one of the inputs; choose another --out (inputs are never overwritten)")
    if out.is_dir():
        raise InputError(out, "is a folder; --out names the puzzle file to write (e.g. puzzles.npz)")
    if out.exists() and not force:
        raise InputError(out, "already exists; pass --force to replace it")
    check_writable_folder(out.parent, out)


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (the same path, a symlink or a hard link to it)."""
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


@click.command("encode")
@click.argument("model")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path), help="Puzzle file to write (.npz).")
@click.option("--force", is_flag=True, help="Replace --out if it exists (never an input file).")
@click.option("--png", is_flag=True, help="Also render each puzzle as PNG next to --out.")
@click.option("--text", is_flag=True, help="Also print each puzzle as digits.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def encode_command(model: str, files: tuple[Path, ...], out: Path, force: bool, png: bool, text: bool,
                   runs_root: Path) -> None:
    """Encode FILES with MODEL (a run directory, or a compressor id/modality: its latest run).

    Files of any length are cut into windows; each window becomes one puzzle, named
    FILE#INDEX in the puzzle metadata. An unreadable file is reported and skipped;
    the others are still encoded, and the exit status is 1.
    """
    from sage_core.puzzle import concatenate, png_paths

    check_output(out, files, force)
    compressor = _load(model, runs_root)
    puzzles, failed = [], 0
    for path in files:
        try:
            x = read_observation(compressor.modality, path)
        except InputError as exc:
            click.echo(f"sage: error: {exc}", err=True)
            failed += 1
            continue
        puzzles.append(compressor.encode(x, tuple(f"{path}#{i}" for i in range(len(x)))))
    if not puzzles:
        raise click.exceptions.Exit(1)
    batch = concatenate(puzzles)
    pngs = png_paths(out.with_suffix(".png"), len(batch)) if png else []
    for target in pngs:  # checked before anything is written: all or nothing
        if target == out:
            raise InputError(out, "--png would write its picture over --out; give --out a .npz name")
        check_output(target, files, force)
    _write(lambda: batch.save(out), out)
    click.echo(f"wrote {len(batch)} puzzle(s) from {len(puzzles)} file(s) to {out}")
    if png:
        _write(lambda: batch.save_png(out.with_suffix(".png")), out)
        click.echo(f"wrote {len(pngs)} PNG file(s) next to {out}")
    if text:
        click.echo(batch.to_text())
    if failed:
        raise click.exceptions.Exit(1)


def _modality_named(modality: Any) -> str:
    return f"modality {modality.name!r} ({type(modality).__module__})"


def read_observation(modality: Any, path: Path) -> Any:
    """``modality.read_file(path)``; a plugin bug while reading becomes an ``InputError`` naming both."""
    try:
        return modality.read_file(path)
    except SageError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user sees which file and which plugin, not a traceback
        raise InputError(path, f"{_modality_named(modality)} failed to read it: {exception_line(exc)}") from exc


def _write(action: Any, target: Path) -> Any:
    """Run a write; an OS refusal (permissions, full disk) becomes one line naming ``target``."""
    try:
        return action()
    except OSError as exc:
        raise InputError(target, f"cannot be written ({exc.strerror or exc})") from None


def source_groups(sources: tuple[str, ...], n: int) -> list[tuple[str, list[int]]]:
    """Puzzle indices grouped by the observation they came from (``FILE#INDEX`` sources).

    A group is a run of consecutive windows of one source; the same file encoded twice
    (its window index starting again) is two groups, so each gets its own output.
    """
    groups: list[tuple[str, list[int]]] = []
    previous: tuple[str, int] | None = None
    for index in range(n):
        source, _, window = sources[index].rpartition("#") if sources and "#" in sources[index] else (
            sources[index] if sources else "puzzle", "", "")
        number = int(window) if window.isdigit() else -1
        if previous is None or source != previous[0] or number <= previous[1]:
            groups.append((source, []))
        groups[-1][1].append(index)
        previous = (source, number)
    return groups


def output_names(groups: list[tuple[str, list[int]]]) -> list[str]:
    """A distinct, safe file name (no folders, no dots, no suffix) for each group's output.

    Sources come from puzzle metadata, which anyone can write: ``../x`` or ``/etc/passwd``
    must name a file inside ``--out``. Dots go too, since a modality adds its own suffix
    (``take.1`` and ``take.2`` would both become ``take.wav``).
    """
    names: list[str] = []
    for source, _ in groups:
        stem = Path(source.replace("\\", "/")).stem
        stem = re.sub(r"[^\w-]+", "_", stem).strip("_-") or "puzzle"
        name, n = stem, 1
        while name in names:
            n += 1
            name = f"{stem}-{n}"
        names.append(name)
    return names


@click.command("decode")
@click.argument("model")
@click.argument("puzzles", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path),
              help="Output file (one source) or folder (one file per source).")
@click.option("--force", is_flag=True, help="Replace outputs that exist already (never the puzzle file).")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def decode_command(model: str, puzzles: Path, out: Path, force: bool, runs_root: Path) -> None:
    """Decode a puzzle file (.npz) or puzzle log (.jsonl) with MODEL into something to look at or listen to.

    Puzzles from one source file become one output (e.g. one WAV for a long
    recording). With several sources, --out is a folder and each source gets its own file.
    Outputs are written only once all of them are made: a failure leaves nothing behind.
    """
    from sage_core.atomic import check_writable_folder

    puzzle = _load_puzzles(puzzles)
    groups = source_groups(puzzle.meta.sources, len(puzzle))
    single = len(groups) == 1 and out.suffix != "" and not out.is_dir()
    if not single and out.exists() and not out.is_dir():
        raise InputError(out, f"is a file, but {len(groups)} sources need a folder; choose a folder for --out")
    folder = out.parent if single else out
    check_writable_folder(folder, out)
    compressor = _load(model, runs_root)
    try:
        reconstruction = compressor.decode(puzzle)
    except InputError as exc:
        raise InputError(puzzles, exc.problem) from None
    targets = [out] if single else [out / name for name in output_names(groups)]
    modality = compressor.modality
    written: list[Path] = []
    with _staging(folder) as staging:
        staged: list[tuple[Path, Path]] = []
        taken: set[str] = set()
        for number, ((source, indices), target) in enumerate(zip(groups, targets)):
            indices = _windows_to_join(modality, puzzle, source, indices)
            own = staging / str(number)  # each source its own folder: a modality's names cannot collide
            own.mkdir()
            files = _write(lambda: modality.write_output(reconstruction[indices], own / target.name), target)
            for made in map(Path, files):
                final = folder / _unused_name(made.name, taken)
                taken.add(final.name)
                staged.append((made, final))
        for _, final in staged:
            if _same_file(final, puzzles):
                raise InputError(final, "is the puzzle file being decoded; choose another --out")
            if final.exists() and not force:
                raise InputError(final, "already exists; pass --force to replace it")
        folder.mkdir(parents=True, exist_ok=True)
        for made, final in staged:
            _write(lambda: made.replace(final), final)
            written.append(final)
    for path in written:
        click.echo(f"wrote {path}")


def _windows_to_join(modality: Any, puzzle: Any, source: str, indices: list[int]) -> list[int]:
    """The windows of one source that the modality's output joins (all, unless they overlap in time)."""
    if not puzzle.meta.times:
        return indices
    try:
        chosen = list(modality.windows_to_join([puzzle.meta.times[i] for i in indices]))
    except SageError:
        raise
    except Exception as exc:  # noqa: BLE001 - plugin code: one line naming it, not a traceback
        raise PluginError(f"{_modality_named(modality)}: windows_to_join raised {exception_line(exc)}") from exc
    in_range = all(isinstance(k, int) and 0 <= k < len(indices) for k in chosen)
    if not chosen or not in_range or chosen != sorted(set(chosen)):
        raise PluginError(f"{_modality_named(modality)}: windows_to_join returned {chosen!r}, not increasing "
                          f"window numbers below {len(indices)}")
    if len(chosen) < len(indices):
        click.echo(f"{source}: {len(chosen)} of {len(indices)} windows joined: they overlap in time (streamed at "
                   f"a shorter hop than the model's); each is still in the puzzle file", err=True)
    return [indices[k] for k in chosen]


def _unused_name(name: str, taken: set[str]) -> str:
    """``name``, or ``stem-2.suffix``... when an earlier output of this decode took it."""
    stem, dot, suffix = name.partition(".")
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{stem}-{n}{dot}{suffix}"
    return candidate


class _staging:
    """A scratch folder beside the outputs, so a decode that fails half way leaves nothing behind."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> Path:
        import tempfile

        from sage_core.atomic import nearest_existing

        try:
            self.path = Path(tempfile.mkdtemp(prefix=".sage-decode-", dir=nearest_existing(self.folder)))
        except OSError as exc:
            raise InputError(self.folder, f"cannot be written ({exc.strerror or exc})") from None
        return self.path

    def __exit__(self, *exc: object) -> None:
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)


@click.command("show")
@click.argument("puzzles", type=click.Path(path_type=Path))
@click.option("--index", "-i", type=int, default=None, help="Show only this puzzle of a batch.")
@click.option("--png", type=click.Path(path_type=Path), default=None, help="Also render to this PNG.")
def show_command(puzzles: Path, index: int | None, png: Path | None) -> None:
    """Print a puzzle file (.npz) or puzzle log (.jsonl) as digits, with where each puzzle came from."""
    puzzle = _load_puzzles(puzzles)
    if index is not None:
        if not -len(puzzle) <= index < len(puzzle):
            raise click.BadParameter(f"{puzzles} holds {len(puzzle)} puzzle(s)", param_hint="--index")
        puzzle = puzzle[index]
    meta = puzzle.meta
    click.echo(f"{len(puzzle)} puzzle(s) from {meta.compressor_id} v{meta.compressor_version} ({meta.modality})")
    if meta.rows or meta.cols:
        click.echo(f"rows: {meta.rows}; columns: {meta.cols}")
    for i in range(len(puzzle)):
        single = puzzle[i]
        click.echo(f"\n# {single.meta.sources[0] if single.meta.sources else i}")
        click.echo(single.to_text())
    if png is not None:
        for path in _write(lambda: puzzle.save_png(png), png):
            click.echo(f"wrote {path}")


COMMANDS = [encode_command, decode_command, show_command]
