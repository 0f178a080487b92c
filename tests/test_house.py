"""The house rules of tools/check_imports.py hold, and the checker finds breaches."""

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "check_imports.py"


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location("check_imports", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_package_keeps_the_house_rules(checker, capsys):
    assert checker.main() == 0, capsys.readouterr().out


def test_a_cycle_and_a_function_level_import_are_found(checker, tmp_path, monkeypatch):
    package = tmp_path / "sklearn_fkd"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import g\n\n\ndef f():\n    return g()\n")
    (package / "b.py").write_text(
        "from . import a\n\n\ndef g():\n    from .a import f\n\n    return f\n"
    )
    (package / "c.py").write_text("import dlib\n" + "x = 1\n" * 530)
    monkeypatch.setattr(checker, "ROOT", package)
    errors: list[str] = []
    graph: dict = {}
    known = checker.modules()
    for name, path in known.items():
        checker.check_module(name, path, known, graph, errors, {"dlib"})
    found = "\n".join(errors)
    assert "imports the package's own sklearn_fkd.a inside g()" in found
    assert "imports the optional dlib" in found
    assert "531 lines" in found
    assert checker.cycles(graph) == [["sklearn_fkd.a", "sklearn_fkd.b"]]


def test_the_licences_are_in_the_package_metadata():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert "BSD 3-Clause" in (root / "LICENSE").read_text()
    assert "License :: OSI Approved :: BSD License" in project["classifiers"]
    assert "non-commercial" in project["license"]["text"]  # the weights' terms
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    weights_terms = root / "sklearn_fkd" / "models" / "WEIGHTS_LICENCE.txt"
    assert "models/WEIGHTS_LICENCE.txt" in data["package-data"]["sklearn_fkd"]
    assert "non-commercial" in weights_terms.read_text()
