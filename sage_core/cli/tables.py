"""Tables on the terminal: every cell is escaped, since text from plugins and runs may hold rich markup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def print_table(header: Sequence[str], rows: Iterable[Sequence[object]], title: str | None = None) -> None:
    """One rich table on stdout; ``[bold]`` in a plugin's error message is shown, never interpreted."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(*(escape(name) for name in header), title=escape(title) if title else None)
    for row in rows:
        table.add_row(*(escape(str(cell)) for cell in row))
    Console().print(table)
