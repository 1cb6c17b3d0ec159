"""Keep generated Markdown tables in the README between named markers.

A table named `parameter-table` sits between `<!-- parameter-table:start -->` and
`<!-- parameter-table:end -->`; the commands that print tables rewrite only that span.
"""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def markers(name):
    """Return the start and end markers of a named section."""
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def section(text, name):
    """Return the text between a section's markers, without surrounding newlines."""
    start, end = markers(name)
    match = re.search(re.escape(start) + "(.*?)" + re.escape(end), text, re.DOTALL)
    if match is None:
        raise ValueError(f"markers {start} and {end} not found; add them where the table belongs")
    return match.group(1).strip("\n")


def replace_section(text, name, table):
    """Return `text` with the named section replaced by `table`."""
    section(text, name)  # Raises when the markers are missing.
    start, end = markers(name)
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    return pattern.sub(lambda _: f"{start}\n{table}\n{end}", text)


def update_file(path, name, table):
    """Rewrite the named section of a Markdown file in place."""
    path = Path(path)
    path.write_text(replace_section(path.read_text(), name, table))


def print_or_update(table, path, name, label):
    """Print `table`, or rewrite the named section of the file at `path` when one is given."""
    if path is None:
        print(table)
        return
    update_file(path, name, table)
    print(f"Updated the {label} in {path}")
