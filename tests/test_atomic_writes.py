"""Every file the package writes goes through a temporary name and a rename.

A step killed while writing must leave no partial output under the final
name; :func:`aelab.fileio.atomic_output` gives that. This test reads the
package's source and checks that each call that writes a file sits inside a
``with atomic_output(...)`` block.
"""

from __future__ import annotations

import ast
from pathlib import Path

import aelab

PACKAGE = Path(aelab.__file__).parent
# Calls that write a file: methods by their name, functions by module.name.
WRITERS = {"savefig", "to_csv", "to_json", "to_parquet", "write_text", "write_bytes"}
WRITERS |= {"savez", "savez_compressed", "FileHandler"}
WRITERS |= {"torch.save", "np.save", "numpy.save", "json.dump", "pickle.dump"}
# Writes that are not pipeline outputs: the log file a step is asked for, and
# the lock file of a device slot (it holds a lock, not a result).
ALLOWED = {("cli.py", "FileHandler"), ("training/devices.py", "open")}


def writes_outside_atomic_blocks(path: Path) -> list[str]:
    """``file:line name`` of each write call not inside ``with atomic_output``."""
    found = []

    def visit(node: ast.AST, inside: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            inside = inside or any(
                _called(item.context_expr) == "atomic_output" for item in node.items
            )
        if isinstance(node, ast.Call) and not inside:
            name = _called(node)
            writes = name in WRITERS
            if name == "open":
                writes = _opens_for_writing(node)
            relative = path.relative_to(PACKAGE).as_posix()
            if writes and (relative, name) not in ALLOWED:
                found.append(f"{relative}:{node.lineno} {name}")
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(ast.parse(path.read_text()), inside=False)
    return found


def _called(node: ast.AST) -> str | None:
    """The called name: "open", "savefig" for any x.savefig, "torch.save"."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        qualified = (
            f"{func.value.id}.{func.attr}" if isinstance(func.value, ast.Name) else ""
        )
        return qualified if qualified in WRITERS else func.attr
    return None


def _opens_for_writing(call: ast.Call) -> bool:
    modes = call.args[1:2] + [k.value for k in call.keywords if k.arg == "mode"]
    return any(
        isinstance(m, ast.Constant) and set(str(m.value)) & set("wax+") for m in modes
    )


def test_every_write_in_the_package_is_atomic():
    offenders = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "fileio.py"
        for hit in writes_outside_atomic_blocks(path)
    ]
    assert offenders == []


def test_the_check_finds_a_plain_write(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.PACKAGE", tmp_path)
    module = tmp_path / "step.py"
    module.write_text(
        "from aelab.fileio import atomic_output\n"
        "def good(path, table):\n"
        "    with atomic_output(path) as tmp:\n"
        "        table.to_csv(tmp)\n"
        "def bad(path, fig, state):\n"
        "    fig.savefig(path)\n"
        "    torch.save(state, path)\n"
        "    with open(path, 'w') as handle:\n"
        "        handle.write('x')\n"
        "    with open(path) as handle:\n"
        "        handle.read()\n"
        "    store.save(path, state)\n"
    )
    assert writes_outside_atomic_blocks(module) == [
        "step.py:6 savefig",
        "step.py:7 torch.save",
        "step.py:8 open",
    ]
