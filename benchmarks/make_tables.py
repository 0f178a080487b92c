"""Regenerate the results tables in benchmarks/README.md from benchmarks/results/*.json.

    python benchmarks/make_tables.py

The README's text between ``<!-- results:start -->`` and ``<!-- results:end -->`` is
replaced; nothing in it is typed by hand.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
START, END = "<!-- results:start -->", "<!-- results:end -->"


def fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def table(rows: list[dict]) -> str:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def about(command: str) -> str:
    """The first paragraph of the docstring of the script that wrote a results file."""
    script = HERE / command.split()[0]
    if not script.is_file():
        return ""
    doc = ast.get_docstring(ast.parse(script.read_text())) or ""
    return " ".join(doc.split("\n\n")[0].split())


def render() -> str:
    parts = []
    for path in sorted((HERE / "results").glob("*.json")):
        data = json.loads(path.read_text())
        m = data["machine"]
        parts.append(
            f"### {data['benchmark']}\n\n"
            + (f"{about(m['command'])}\n\n" if about(m["command"]) else "")
            + f"`{m['command']}` on {m['date']}: sklearn-fkd "
            f"{m['sklearn_fkd']}, torch {m['torch']}, {m['device']}, {m['cpu_count']} cores"
            + (f" ({m['cpu']})" if "cpu" in m else "")
            + (f"; peak RSS {data['peak_rss_mib']:.0f} MiB" if "peak_rss_mib" in data else "")
            + "\n\n"
            + table(data["rows"])
            + "\n"
            + "".join(
                f"\n{key}:\n\n{table(value)}\n"
                for key, value in data.items()
                if key != "rows"
                and isinstance(value, list)
                and value
                and all(isinstance(v, dict) for v in value)
            )
        )
    return "\n".join(parts) or "(no results yet)\n"


def main():
    readme = HERE / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(f"{head}{START}\n{render()}{END}{tail}")
    print(f"updated {readme}")


if __name__ == "__main__":
    main()
