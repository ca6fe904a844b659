"""The abi3 wheel claims CPython >= 3.9, while the tests run on a newer Python: the installed
package's modules must parse as Python 3.9 (no `match`, no parenthesised context managers, no
`except*`, ...) and must not evaluate `X | Y` type unions (Python 3.10) at import or call time."""

import ast
from pathlib import Path

import pytest

import hybrid_adjoint

MODULES = sorted(Path(hybrid_adjoint.__file__).parent.glob("*.py"))


def has_future_annotations(tree):
    return any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names)
        for node in tree.body
    )


def annotations(tree):
    """Every annotation expression of the module (arguments, returns, annotated names)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None and a.annotation is not None:
                    yield a.annotation
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def runtime_unions(tree):
    """`A | B` between names or subscripts outside annotations: in `isinstance`/`issubclass`
    and in module-level assignments (type aliases), where Python 3.9 would evaluate them."""
    def is_union(e):
        return (isinstance(e, ast.BinOp) and isinstance(e.op, ast.BitOr)
                and all(isinstance(x, (ast.Name, ast.Attribute, ast.Subscript, ast.BinOp,
                                       ast.Constant)) for x in (e.left, e.right)))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass") and len(node.args) == 2
                and is_union(node.args[1])):
            yield node
    for node in tree.body:
        if isinstance(node, ast.Assign) and is_union(node.value):
            yield node


def test_the_package_has_modules_to_check():
    names = {m.name for m in MODULES}
    assert {"__init__.py", "network.py", "training.py", "ray.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_parse_as_python_3_9(path):
    ast.parse(path.read_text(), filename=str(path), feature_version=(3, 9))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_type_union_is_evaluated_on_python_3_9(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    bad = [node.lineno for node in runtime_unions(tree)]
    if not has_future_annotations(tree):
        # Without `from __future__ import annotations` annotations are evaluated at definition.
        bad += [a.lineno for a in annotations(tree) if any(
            isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr) for n in ast.walk(a))]
    assert not bad, f"{path.name}: `X | Y` evaluated at run time on lines {sorted(bad)}"
