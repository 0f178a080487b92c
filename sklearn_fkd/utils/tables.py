"""Plain-text tables of metrics, as the command line and the benchmarks print them."""

from __future__ import annotations

__all__ = ["format_table"]


def format_table(rows: list[dict]) -> str:
    """Rows of metrics (dicts with the same keys) as an aligned text table.

    Floats are shown with 4 significant digits.

    Examples
    --------
    >>> print(format_table([{"model": "cnn", "nme": 0.051234}, {"model": "mean", "nme": 0.2}]))
    model  nme
    cnn    0.05123
    mean   0.2
    """

    def fmt(v) -> str:
        return f"{v:.4g}" if isinstance(v, float) else str(v)

    cols = list(rows[0])
    width = {c: max(len(c), *(len(fmt(r[c])) for r in rows)) for c in cols}
    lines = ["  ".join(c.ljust(width[c]) for c in cols).rstrip()]
    lines += ["  ".join(fmt(r[c]).ljust(width[c]) for c in cols).rstrip() for r in rows]
    return "\n".join(lines)
