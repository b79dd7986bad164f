"""Fails to import with an error holding text that rich would read as markup."""

raise ImportError("needs [/bold] and [link=x]a link[/link] and a [red]colour")
