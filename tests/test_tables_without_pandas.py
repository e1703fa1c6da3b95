"""iamkit.views.tables where pandas is not installed (JupyterLite's Pyodide): the same tables as Tables,
styled as HTML with the same cells, caption and classes as the pandas Styler's. Each check runs in
a fresh interpreter in which `import pandas` fails."""

from __future__ import annotations

import html.parser
import json
import subprocess
import sys
import textwrap
from typing import Any

from iamkit.views import tables
from iamkit.widgets.playground import DENY_WINS

BLOCK = "import sys; sys.modules['pandas'] = None  # `import pandas` raises ImportError\n"
MAKE = textwrap.dedent(f"""
    import json
    from iamkit import evaluate, load_scenario
    from iamkit.views.tables import matrix, policy_table, styled, trace_table
    BOB = "arn:aws:iam::111122223333:user/bob"
    DENY_WINS = json.loads({json.dumps(json.dumps(DENY_WINS))})
    decision = evaluate(DENY_WINS)
    other = evaluate({{**DENY_WINS, "request": {{**DENY_WINS["request"], "principal": BOB}}}})
    made = {{"policy": policy_table(load_scenario(DENY_WINS).identity_policies[1]), "trace": trace_table(decision),
            "matrix": matrix([decision, other]),
            "columns": trace_table(decision)[["layer", "statement", "effect", "applies"]],
            "rows": (lambda t: t[t["effect"] == "Deny"])(trace_table(decision))}}
    """)


def run(code: str, pandas: bool) -> Any:
    done = subprocess.run([sys.executable, "-c", ("" if pandas else BLOCK) + code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


class Cells(html.parser.HTMLParser):
    """The text of every body row's data cells, the caption and the table's classes."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.caption, self.classes, self._in = "", "", ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.classes = dict(attrs).get("class") or ""
        elif tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self.rows[-1].append("")
        if tag in ("td", "caption"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "caption"):
            self._in = ""

    def handle_data(self, data: str) -> None:
        if self._in == "td":
            self.rows[-1][-1] += data
        elif self._in == "caption":
            self.caption += data


def parsed(page: str) -> dict[str, Any]:
    cells = Cells()
    cells.feed(page)
    return {"rows": [r for r in cells.rows if r], "caption": cells.caption, "classes": cells.classes}


SHOW = "print(json.dumps({name: styled(t).to_html() for name, t in made.items()}))"


def test_the_engine_and_the_tables_import_without_pandas() -> None:
    loaded = run("import iamkit, iamkit.views.tables, iamkit.views.diagrams, iamkit.engine.explain, iamkit.exercises, json\n"
                 "print(json.dumps([iamkit.views.tables.pd is None,"
                 " 'pandas' in sys.modules and sys.modules['pandas'] is not None]))",
                 pandas=False)
    assert loaded == [True, False]


def test_styled_tables_show_the_same_cells_caption_and_classes_with_and_without_pandas() -> None:
    with_pandas = run(MAKE + SHOW, pandas=True)
    without = run(MAKE + SHOW + "\nassert all(type(t).__name__ == 'Table' for t in made.values())", pandas=False)
    assert set(with_pandas) == set(without) == {"policy", "trace", "matrix", "columns", "rows"}
    for name in with_pandas:
        want, got = parsed(with_pandas[name]), parsed(without[name])
        assert want["rows"], f"{name}: the pandas table has no cells: the comparison would prove nothing"
        assert got == want, name
    assert "★ determining" in str(parsed(without["trace"])["rows"])
    assert "✖ explicit deny" in str(parsed(without["matrix"])["rows"])


def test_a_table_without_pandas_selects_columns_and_rows_as_a_data_frame_does() -> None:
    table = tables.Table([["a", 1, ""], ["b", 2, "StringEquals aws:username: alice"]], ["statement", "line", "conditions"])
    assert list(table["line"]) == [1, 2]
    assert (len(table), table.empty, repr(table)) == (2, False, "<Table table: 2 rows × 3 columns>")
    kept = table[table["conditions"] != ""][["statement", "conditions"]]
    assert (kept.columns, kept.rows) == (["statement", "conditions"], [["b", "StringEquals aws:username: alice"]])
    assert table[table["statement"] == "a"].rows == [["a", 1, ""]]
    try:
        table[[True]]
    except ValueError as error:
        assert str(error) == "a mask of 1 rows for a table of 2"
    else:
        raise AssertionError("a mask of the wrong length was not refused")
    try:
        table["nope"]
    except KeyError as error:
        assert "no column `nope` — the columns are statement, line" in str(error)
    else:
        raise AssertionError("an unknown column was not refused")


def test_a_table_without_pandas_drops_columns_as_a_data_frame_does() -> None:
    # Lesson 03's trust-policy table is shown with `.drop(columns=[...])`, in the browser edition too.
    table = tables.Table([["a", 1, ""]], ["statement", "line", "conditions"])
    table.attrs[tables.TABLE_KIND] = "policy"
    narrower = table.drop(columns=["line", "conditions"])
    assert (narrower.columns, narrower.rows, narrower.attrs) == (["statement"], [["a"]], table.attrs)
    assert table.drop(columns="line").columns == ["statement", "conditions"]
    assert table.columns == ["statement", "line", "conditions"]  # the table itself is unchanged
    try:
        table.drop(columns=["principal"])
    except KeyError as error:
        assert "no column `principal` — the columns are statement, line, conditions" in str(error)
    else:
        raise AssertionError("dropping an unknown column was not refused")
