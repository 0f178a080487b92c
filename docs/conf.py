"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of examples/.

Build: ``make docs`` (part of ``make test``), warnings are errors.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import sklearn_fkd

project = "sklearn-fkd"
author = "the sklearn-fkd developers"
copyright = "2026, the sklearn-fkd developers"
release = sklearn_fkd.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# offline: no inventories are fetched; cross-references to other projects stay text
intersphinx_mapping: dict = {}
exclude_patterns = ["_build", "_generated", "auto_examples/*.ipynb", "auto_examples/*.py"]
templates_path = ["_templates"]

html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-fkd {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list = []

_here = Path(__file__).resolve().parent
sphinx_gallery_conf = {
    "examples_dirs": str(_here.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # SKLEARN_FKD_DOCS_PLOT=0 builds the pages without running the examples
    "plot_gallery": os.environ.get("SKLEARN_FKD_DOCS_PLOT", "True"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
}


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_*_request`` on every estimator; its docstrings
    point into scikit-learn's own glossary. They are documented there."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return skip


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "--" if value is None or value == "" else str(value).replace("\n", " ")


def _write_results_tables(app) -> None:
    """``_generated/<name>_table.rst`` for each ``benchmarks/results/<name>.json``: its
    rows as a table and the command, date and machine that measured them, for the pages
    to ``.. include::`` (no figure in the docs is typed by hand)."""
    out = _here / "_generated"
    out.mkdir(exist_ok=True)
    for path in sorted((_here.parent / "benchmarks" / "results").glob("*.json")):
        data = json.loads(path.read_text())
        rows = data.get("rows") or []
        if not rows:
            continue
        columns = list(dict.fromkeys(key for row in rows for key in row))
        lines = _list_table([columns, *([_cell(row.get(c)) for c in columns] for row in rows)])
        machine = data["machine"]
        lines += [
            "",
            f"``{machine['command']}``, {machine['date'][:10]}, {machine['cpu_count']} "
            f"cores ({machine.get('cpu', machine['device'])}).",
        ]
        (out / f"{path.stem}_table.rst").write_text("\n".join(lines) + "\n")


def _list_table(rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    return lines + ["   * - " + "\n     - ".join(cells) for cells in rows]


def _write_model_cards(app) -> None:
    """``_generated/model_cards.rst``: the shipped models' cards as one table."""
    header = [
        "model", "points", "input", "crop scales", "trained on", "AFW and YouTube test",
        "NME AFW", "NME AFW, own detector", "NME YouTube test",
        "NME YouTube test, own detector",
    ]  # fmt: skip
    rows = [header]
    for card in sklearn_fkd.list_pretrained():
        nme = card["nme"]
        held_out = "held out" if card["nme_note"].startswith("held out") else "in training"
        rows.append(
            [
                f"``{card['name']}``",
                str(card["points"]["n_points"]),
                "x".join(map(str, card["input_size"])),
                ", ".join(f"{s:g}" for s in card["test_scales"]),
                f"``{card['training_data']}``",
                held_out,
                *(_cell(nme[f"{data}, {boxes}"]) for data in ("afw", "youtube:test")
                  for boxes in ("true boxes", "own detector")),
            ]
        )  # fmt: skip
    lines = [*_list_table(rows), "", "From ``sklearn_fkd.list_pretrained()``."]
    (_here / "_generated").mkdir(exist_ok=True)
    (_here / "_generated" / "model_cards.rst").write_text("\n".join(lines) + "\n")


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    app.connect("builder-inited", _write_results_tables)
    app.connect("builder-inited", _write_model_cards)


# progress bars write to stderr while the examples run; they are not build warnings
warnings.filterwarnings("ignore", category=UserWarning, module="tqdm")
# skorch's private NeuralNet._validate_params has an "Example" section numpydoc does not know
warnings.filterwarnings("ignore", message="Unknown section Example", category=UserWarning)
