"""Plain-text tables of metrics, as the command line and the benchmarks print them."""

from __future__ import annotations

__all__ = ["format_table"]


def format_table(rows: list[dict]) -> str:
    """Rows of metrics (dicts) as an aligned text table.

    The columns are every key of the rows, in the order they first appear; a row
    without a key shows an empty cell. Floats are shown with 4 significant digits.

    Examples
    --------
    >>> print(format_table([{"model": "cnn", "nme": 0.051234}, {"model": "mean", "nme": 0.2}]))
    model  nme
    cnn    0.05123
    mean   0.2
    """

    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cols = list(dict.fromkeys(c for r in rows for c in r))
    cells = [[fmt(r.get(c, "")) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, width, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, width, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines)
