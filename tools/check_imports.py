"""Check the package's house rules from its own source (run by ``make test``):

1. no import cycles between the package's modules (module-level imports; those under
   ``if TYPE_CHECKING:`` are for type checkers and do not run);
2. no function-level import of the package's own modules: a package's ``__getattr__``
   serves lazy names and the command line imports its commands, both through
   ``importlib`` (and only in those places);
3. optional extras (dlib, PyAV, onnx...) imported only through
   ``sklearn_fkd.utils.optional.import_extra``, whose error names the extra;
4. every module at most ``MAX_MODULE_LINES`` lines, ``KeypointNet`` at most
   ``MAX_KEYPOINTNET_LINES``.

Prints each breach and exits 1, else prints a summary and exits 0.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "sklearn_fkd"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
MAX_MODULE_LINES = 520
MAX_KEYPOINTNET_LINES = 500
#: the modules that may call importlib.import_module on the package's own modules
LAZY_LOADERS = {"sklearn_fkd", "sklearn_fkd.persistence", "sklearn_fkd.cli"}


def optional_extras() -> set[str]:
    """The optional modules: the keys of ``EXTRAS`` in utils/optional.py, the one place
    that may import them."""
    tree = ast.parse((ROOT / "utils" / "optional.py").read_text())
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign):
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "EXTRAS":
            return set(ast.literal_eval(node.value))
    raise SystemExit("check_imports: utils/optional.py defines no EXTRAS")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def resolve(name: str, node: ast.ImportFrom, known: dict[str, Path], is_package: bool) -> str:
    """The absolute module a ``from ... import`` names."""
    if node.level == 0:
        return node.module or ""
    base = name.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def targets(name: str, node: ast.AST, known: dict[str, Path], is_package: bool) -> list[str]:
    """The package modules an import statement loads (a name that is a submodule counts
    as that submodule, else as the module it is taken from)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == PACKAGE]
    source = resolve(name, node, known, is_package)
    if source.split(".")[0] != PACKAGE:
        return []
    found = []
    for alias in node.names:
        sub = f"{source}.{alias.name}"
        found.append(sub if sub in known else source)
    return found


def is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def check_module(
    name: str, path: Path, known: dict[str, Path], graph: dict, errors: list, extras=frozenset()
):
    source = path.read_text()
    tree = ast.parse(source)
    rel = path.relative_to(ROOT.parent)
    is_package = path.name == "__init__.py"
    n_lines = len(source.splitlines())
    if n_lines > MAX_MODULE_LINES:
        errors.append(f"{rel}: {n_lines} lines (at most {MAX_MODULE_LINES})")
    graph[name] = set()
    for node in tree.body:  # module level
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            graph[name].update(targets(name, node, known, is_package))
        elif isinstance(node, ast.If) and not is_type_checking(node):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    graph[name].update(targets(name, sub, known, is_package))
        elif isinstance(node, ast.ClassDef) and node.name == "KeypointNet":
            length = node.end_lineno - node.lineno + 1
            if length > MAX_KEYPOINTNET_LINES:
                errors.append(f"{rel}: KeypointNet is {length} lines (at most 500)")
    for scope in ast.walk(tree):
        if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in ast.walk(scope):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and targets(
                name, node, known, is_package
            ):
                errors.append(
                    f"{rel}:{node.lineno}: imports the package's own "
                    f"{', '.join(targets(name, node, known, is_package))} inside "
                    f"{scope.name}(); import it at the top"
                )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        for extra in extras.intersection(names):
            errors.append(
                f"{rel}:{node.lineno}: imports the optional {extra}; use "
                "utils.optional.import_extra (its error names the extra to install)"
            )
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and _names_own_module(node.args[0])
            and name not in LAZY_LOADERS
        ):
            errors.append(
                f"{rel}:{node.lineno}: imports the package's own modules through importlib "
                "outside a package's lazy __getattr__ or the command line"
            )


def _names_own_module(arg: ast.expr) -> bool:
    """Whether an ``import_module`` argument names a module of this package (a relative
    name, or one starting with the package's)."""
    if isinstance(arg, ast.JoinedStr) and arg.values:
        arg = arg.values[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value.startswith((".", PACKAGE))
    return False  # a computed name (an allowed torch optimizer, an optional extra)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph.get(v, ()):
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    known = modules()
    graph: dict[str, set[str]] = {}
    errors: list[str] = []
    extras = optional_extras()
    for name, path in known.items():
        check_module(name, path, known, graph, errors, extras)
    for component in cycles(graph):
        errors.append(f"import cycle among {', '.join(component)}")
    for line in errors:
        print(line)
    if errors:
        print(f"check_imports: {len(errors)} breach(es) of the house rules")
        return 1
    longest = max(len(p.read_text().splitlines()) for p in known.values())
    edges = sum(len(v) for v in graph.values())
    print(
        f"check_imports: {len(known)} modules, {edges} imports, no cycle, no function-level "
        f"import of the package, longest module {longest} lines"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
