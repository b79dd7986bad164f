"""``sage encode`` and ``sage decode``: files to puzzles and puzzles back to files."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import click

from sage_core.cli.main import get_registry


def _load(ref: str, runs_root: Path):  # -> PuzzleCompressor
    from sage_core.runs import load_compressor, resolve_run_or_id

    run_dir = resolve_run_or_id(ref, get_registry(), root=runs_root)
    return load_compressor(run_dir, registry=get_registry())


@click.command("encode")
@click.argument("model")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path), help="Puzzle file to write (.npz).")
@click.option("--png", is_flag=True, help="Also render each puzzle as PNG next to --out.")
@click.option("--text", is_flag=True, help="Also print each puzzle as digits.")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def encode_command(model: str, files: tuple[Path, ...], out: Path, png: bool, text: bool, runs_root: Path) -> None:
    """Encode FILES with MODEL (a run directory, or a compressor id/modality: its latest run).

    Files of any length are cut into windows; each window becomes one puzzle, named
    FILE#INDEX in the puzzle metadata. An unreadable file is reported and skipped;
    the others are still encoded, and the exit status is 1.
    """
    from sage_core.errors import InputError
    from sage_core.puzzle import concatenate

    compressor = _load(model, runs_root)
    puzzles, failed = [], 0
    for path in files:
        try:
            x = compressor.read_file(path)
        except InputError as exc:
            click.echo(f"sage: error: {exc}", err=True)
            failed += 1
            continue
        puzzles.append(compressor.encode(x, tuple(f"{path}#{i}" for i in range(len(x)))))
    if not puzzles:
        raise click.exceptions.Exit(1)
    batch = concatenate(puzzles)
    batch.save(out)
    click.echo(f"wrote {len(batch)} puzzle(s) from {len(puzzles)} file(s) to {out}")
    if png:
        written = batch.save_png(out.with_suffix(".png"))
        click.echo(f"wrote {len(written)} PNG file(s) next to {out}")
    if text:
        click.echo(batch.to_text())
    if failed:
        raise click.exceptions.Exit(1)


def _source_groups(sources: tuple[str, ...], n: int) -> "OrderedDict[str, list[int]]":
    """Puzzle indices grouped by the file they came from (``FILE#INDEX`` sources)."""
    groups: OrderedDict[str, list[int]] = OrderedDict()
    for index in range(n):
        source = sources[index].rsplit("#", 1)[0] if sources else "puzzle"
        groups.setdefault(source, []).append(index)
    return groups


@click.command("decode")
@click.argument("model")
@click.argument("puzzles", type=click.Path(path_type=Path))
@click.option("--out", "-o", "out", required=True, type=click.Path(path_type=Path),
              help="Output file (one source) or directory (one file per source).")
@click.option("--runs-root", default="runs", type=click.Path(path_type=Path), show_default=True)
def decode_command(model: str, puzzles: Path, out: Path, runs_root: Path) -> None:
    """Decode a puzzle file (.npz) or puzzle log (.jsonl) with MODEL into something to look at or listen to.

    Puzzles from one source file become one output (e.g. one WAV for a long
    recording). With several sources, --out is a directory.
    """
    from sage_core.errors import InputError
    from sage_core.puzzle_log import load_puzzles

    puzzle = load_puzzles(puzzles, report=lambda message: click.echo(f"sage: warning: {message}", err=True))
    compressor = _load(model, runs_root)
    try:
        reconstruction = compressor.decode(puzzle)
    except InputError as exc:
        raise InputError(puzzles, exc.problem) from None
    groups = _source_groups(puzzle.meta.sources, len(puzzle))
    single = len(groups) == 1 and out.suffix != ""
    written: list[Path] = []
    for source, indices in groups.items():
        target = out if single else out / Path(source).stem
        target.parent.mkdir(parents=True, exist_ok=True)
        written += compressor.write_output(reconstruction[indices], target)
    for path in written:
        click.echo(f"wrote {path}")


@click.command("show")
@click.argument("puzzles", type=click.Path(path_type=Path))
@click.option("--index", "-i", type=int, default=None, help="Show only this puzzle of a batch.")
@click.option("--png", type=click.Path(path_type=Path), default=None, help="Also render to this PNG.")
def show_command(puzzles: Path, index: int | None, png: Path | None) -> None:
    """Print a puzzle file (.npz) or puzzle log (.jsonl) as digits, with where each puzzle came from."""
    from sage_core.puzzle_log import load_puzzles

    puzzle = load_puzzles(puzzles, report=lambda message: click.echo(f"sage: warning: {message}", err=True))
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
        for path in puzzle.save_png(png):
            click.echo(f"wrote {path}")


COMMANDS = [encode_command, decode_command, show_command]
