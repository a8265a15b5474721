"""The package layout stays the way the README's "Architecture" section draws it.

Static checks over the source (no imports of the checked modules):
* imports point down the layers: cli -> {analysis, identity, judge, scale,
  compat} -> {text, embed, store, gather} -> kernels/shared -> _core;
* no import cycle between modules, counting imports inside functions;
* no module imports another module's underscore name;
* argparse only in cli/;
* no module over 800 lines (``_reference.py`` excepted);
* the export table of ``distillscope/__init__.py`` and its TYPE_CHECKING
  block name the same things, and every name resolves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "python" / "distillscope"

# Layer of each top-level part of the package; an import may only go to a
# lower layer, or stay inside its own subpackage.
LAYER = {
    "_core": 0,
    "_version": 0,
    "_ragged": 1,
    "_io": 1,
    "stats": 1,
    "progress": 1,
    "_reference": 1,
    "kernels": 2,
    "text": 3,
    "embed": 3,
    "store": 3,
    "gather": 3,
    "analysis": 4,
    "identity": 4,
    "judge": 4,
    "scale": 4,
    "compat": 4,
    "cli": 5,
    "__init__": 6,
    "__main__": 6,
}
# Edges that a layer rule alone would allow but the design does not want,
# and the few same-layer edges it does want: (from area, to area).
SAME_LAYER_ALLOWED = {
    ("gather", "store"),  # the gatherer appends to the response store
    ("store", "gather"),  # importers resolve prompt ids through the prompt loader
    ("text", "embed"),  # align_scores on raw texts embeds them with the default encoder
    ("judge", "analysis"),  # judges export a ScoreTable and reuse agreement statistics
    ("judge", "identity"),  # the identity judge checks the extractor's verdicts
    ("scale", "analysis"),
    ("compat", "scale"),
    ("analysis", "identity"),  # the report shows ICE rates next to RSE
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


def _resolve(mod: str, path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        name = node.module or ""
        return (
            name[len("distillscope.") :]
            if name.startswith("distillscope.")
            else ("" if name == "distillscope" else "!" + name)
        )
    pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    base = pkg[: len(pkg) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(target module, imported names, line) for each package-internal import."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(mod, path, node)
            if target.startswith("!"):
                continue
            names = [a.name for a in node.names]
            if target == "" or target in ("__init__",):
                # "from .. import x": x may be a submodule
                for n in names:
                    if n == "_core":
                        out.append(("_core", [], node.lineno))
                    else:
                        out.append((n if n in MODULES else "__init__", [n], node.lineno))
                continue
            sub = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if sub:
                out.extend((s, [], node.lineno) for s in sub)
            else:
                out.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("distillscope."):
                    out.append((a.name[len("distillscope.") :], [], node.lineno))
    return out


def _area(mod: str) -> str:
    return mod.split(".")[0]


def _is_type_checking_only(path: Path, lineno: int) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            if node.lineno <= lineno <= (node.end_lineno or node.lineno):
                return True
    return False


def test_every_area_has_a_layer():
    missing = sorted({_area(m) for m in MODULES} - set(LAYER))
    assert not missing, f"add these to LAYER in tests/test_layout.py (and the README's Architecture): {missing}"


def test_imports_point_down_the_layers():
    bad = []
    for mod, path in MODULES.items():
        for target, _, line in _imports(mod, path):
            a, b = _area(mod), _area(target)
            if a == b or _is_type_checking_only(path, line):
                continue
            if LAYER[b] < LAYER[a] or (a, b) in SAME_LAYER_ALLOWED:
                continue
            bad.append(
                f"{path.relative_to(PKG)}:{line} imports {target} ({a} layer {LAYER[a]} -> {b} layer {LAYER[b]})"
            )
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for target, _, line in _imports(mod, path):
            if target in MODULES and target != mod and not _is_type_checking_only(path, line):
                # a package __init__ that re-exports its modules is not a cycle
                # with them: the edge module -> its own package is ignored
                if mod.startswith(target + ".") or (target == "__init__" and mod != "__init__"):
                    continue
                graph[mod].add(target)
    # Tarjan's strongly connected components
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_no_underscore_names_across_modules():
    bad = []
    for mod, path in MODULES.items():
        for target, names, line in _imports(mod, path):
            for n in names:
                if n.startswith("_") and not n.startswith("__") and target != "_core" and n != "_core":
                    if f"{target}.{n}" in MODULES or n in ("_reference",):
                        continue  # a private module, not a private name
                    bad.append(f"{path.relative_to(PKG)}:{line} imports {target}.{n}")
    assert not bad, "underscore names imported from another module (give them a public name):\n" + "\n".join(bad)


def test_argparse_only_in_cli():
    bad = [
        str(p.relative_to(PKG))
        for m, p in MODULES.items()
        if _area(m) != "cli" and "import argparse" in p.read_text(encoding="utf-8")
    ]
    assert not bad, f"argparse outside cli/: {bad}"


@pytest.mark.parametrize("mod", sorted(MODULES))
def test_module_size(mod):
    path = MODULES[mod]
    if path.name == "_reference.py":
        return
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= 800, f"{path.relative_to(PKG)} has {n} lines (ceiling 800): split it along its concepts"


def test_export_table_matches_type_checking_block_and_resolves():
    import distillscope as ds

    tree = ast.parse((PKG / "__init__.py").read_text(encoding="utf-8"))
    table = ds._EXPORTS
    typed: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for a in imp.names:
                    typed[a.asname or a.name] = imp.module or ""
    assert typed == table, "the TYPE_CHECKING block and _EXPORTS disagree"
    assert set(ds.__all__) == {"__version__", *table}
    for name in table:
        assert getattr(ds, name) is not None, name
    assert "importlib" not in dir(ds) and "Any" not in dir(ds)
