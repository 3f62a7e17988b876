"""``aelab backprop``: the printed table, the CSV, the PNG, and its errors."""

from __future__ import annotations

import csv

import pytest

from aelab.backprop import expression
from aelab.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
VALUES = ["--values", "w=5", "x=3", "y=2", "z=4"]

PRODUCT_TABLE = """\
node  operation  value  local gradients        df/dnode
----  ---------  -----  ---------------------  --------
w     input          5                                4
x     input          3                                8
y     input          2                               12
z     input          4                               11
v     mul            6  dv/dx = 2, dv/dy = 3          4
u     add           11  du/dw = 1, du/dv = 1          4
f     mul           44  df/du = 4, df/dz = 11         1
"""

SUM_TABLE = """\
node  operation  value  local gradients       df/dnode
----  ---------  -----  --------------------  --------
w     input          5                               1
x     input          3                               2
y     input          2                               3
z     input          4                               1
v     mul            6  dv/dx = 2, dv/dy = 3         1
u     add           11  du/dw = 1, du/dv = 1         1
f     add           15  df/du = 1, df/dz = 1         1
"""


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["backprop", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def table_columns(out: str) -> dict[str, tuple[str, str, str]]:
    """node -> (operation, value, gradient) from the printed table."""
    rows = {}
    for line in out.splitlines()[2:]:
        cells = [cell for cell in line.split("  ") if cell.strip()]
        rows[cells[0].strip()] = (cells[1].strip(), cells[2].strip(), cells[-1].strip())
    return rows


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 1000


def test_default_example_prints_the_worked_table(tmp_path, capsys):
    out_png, out_csv = tmp_path / "graph.png", tmp_path / "table.csv"
    code, out, _ = run(capsys, "--out", str(out_png), "--table", str(out_csv))
    assert code == 0
    assert out == PRODUCT_TABLE
    assert_png(out_png)

    with open(out_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["node"] for r in rows] == ["w", "x", "y", "z", "v", "u", "f"]
    by_node = {r["node"]: r for r in rows}
    assert by_node["f"] == {
        "node": "f",
        "operation": "mul",
        "inputs": "u;z",
        "value": "44.0",
        "local_gradients": "4.0;11.0",
        "grad": "1.0",
    }
    grads = {r["node"]: float(r["grad"]) for r in rows}
    assert grads == {"w": 4, "x": 8, "y": 12, "z": 11, "v": 4, "u": 4, "f": 1}


def test_sum_example(tmp_path, capsys):
    code, out, _ = run(capsys, "--example", "sum", "--out", str(tmp_path / "g.png"))
    assert code == 0
    assert out == SUM_TABLE
    assert_png(tmp_path / "g.png")


def test_typed_named_steps_give_the_same_table(tmp_path, capsys):
    steps = "v = x*y; u = w + v; f = u*z"
    code, out, _ = run(
        capsys, "--expr", steps, *VALUES, "--out", str(tmp_path / "g.png")
    )
    assert code == 0
    assert out == PRODUCT_TABLE


def test_typed_formula_names_its_sub_expressions(tmp_path, capsys):
    code, out, _ = run(
        capsys, "--expr", "(w + x*y) * z", *VALUES, "--out", str(tmp_path / "g.png")
    )
    assert code == 0
    rows = table_columns(out)
    assert list(rows) == ["w", "x", "y", "z", "x * y", "w + x * y", "(w + x * y) * z"]
    assert rows["x * y"] == ("mul", "6", "4")
    assert rows["w + x * y"] == ("add", "11", "4")
    assert rows["(w + x * y) * z"] == ("mul", "44", "1")
    assert rows["x"][2] == "8" and rows["y"][2] == "12" and rows["z"][2] == "11"
    assert "d/d(w + x * y) = 4, d/dz = 11" in out
    assert_png(tmp_path / "g.png")


def test_a_node_used_twice_shows_both_edges(tmp_path, capsys):
    code, out, _ = run(
        capsys, "--expr", "f = x*x + x", "--values", "x=3", "--out",
        str(tmp_path / "g.png"),
    )  # fmt: skip
    assert code == 0
    rows = table_columns(out)
    assert rows["x"] == ("input", "3", "7")
    assert rows["f"] == ("add", "12", "1")
    assert "d/dx = 3, d/dx = 3" in out


def test_values_replace_the_examples_own(tmp_path, capsys):
    code, out, _ = run(capsys, "--values", "w=1", "--out", str(tmp_path / "g.png"))
    assert code == 0
    assert table_columns(out)["f"] == ("mul", "28", "1")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--expr", "(w + x*y * z"], "cannot parse the expression '(w + x*y * z'"),
        (["--expr", "w + x*q", *VALUES], "name 'q' in 'w + x*q' has no value"),
        (["--expr", "x * y", "--values", "x=3"], "name 'y' in 'x * y' has no value"),
        (
            ["--expr", "x * y", "--values", "x=3", "y=2", "zz=1"],
            "a value is given for 'zz', which 'x * y' does not use",
        ),
        (["--expr", "sin(x)", "--values", "x=1"], "function 'sin' in 'sin(x)'"),
        (["--expr", "x ** 2", "--values", "x3"], "bad value 'x3'"),
        (["--expr", "x ** 2", "--values", "x=three"], "'three' is not a number"),
        (["--expr", "x ^ 2", "--values", "x=1"], "for a power write **"),
    ],
)
def test_bad_input_is_named_and_exits_1(tmp_path, capsys, args, message):
    out_png, out_csv = tmp_path / "g.png", tmp_path / "t.csv"
    code, out, err = run(capsys, *args, "--out", str(out_png), "--table", str(out_csv))
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert out == ""
    assert not out_png.exists() and not out_csv.exists()


def test_example_and_expression_together_are_refused(capsys):
    with pytest.raises(SystemExit) as info:
        main(["backprop", "--example", "sum", "--expr", "x"])
    assert info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(expression.EXAMPLES))
def test_every_example_is_offered_by_the_command_line(tmp_path, capsys, name):
    code, out, _ = run(capsys, "--example", name, "--out", str(tmp_path / "g.png"))
    assert code == 0 and out.splitlines()[-1].startswith("f ")


def test_a_value_that_is_not_finite_is_warned_about(tmp_path, capsys):
    code, out, err = run(
        capsys, "--expr", "f = log(x) * y", "--values", "x=-1", "y=2",
        "--out", str(tmp_path / "g.png"),
    )  # fmt: skip
    assert code == 0
    assert "not a finite value: log(x), f" in err
    assert table_columns(out)["f"] == ("mul", "nan", "1")


def test_a_graph_too_large_to_read_is_tabled_but_not_drawn(tmp_path, capsys):
    out_png = tmp_path / "g.png"
    big_sum = " + ".join(["x"] * 70)
    code, out, err = run(
        capsys, "--expr", big_sum, "--values", "x=2", "--out", str(out_png)
    )
    assert code == 0
    assert "the graph has 70 nodes, more than the 60" in err
    assert not out_png.exists()
    assert table_columns(out)["x"] == ("input", "2", "70")
