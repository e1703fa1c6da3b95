"""Tables where pandas is not installed, and the palette both kinds of table are dressed in.

JupyterLite's Pyodide has no pandas: there, :mod:`iamkit.views.tables` returns a :class:`Table`
(the columns and cells a DataFrame would hold), and :func:`~iamkit.views.tables.styled` shows
it through :class:`StyledTable` as the same HTML a pandas Styler would: the same text, tints
and escaping. The tints (Okabe–Ito, dark text) and the outcome words are defined here once,
for both.
"""

from __future__ import annotations

import html
import re
from typing import Any, Sequence

__all__ = ["EFFECT_TINT", "INK", "MUTED", "OUTCOME_TEXT", "SEVERITY_TINT", "TABLE_CAPTION", "TABLE_KIND", "TINTS",
           "Column", "StyledTable", "Table", "link_lines", "tint_css"]

TABLE_KIND = "iamkit.table"  # DataFrame.attrs key: which table this is, so styled() knows how to dress it
TABLE_CAPTION = "iamkit.caption"  # DataFrame.attrs key: plain-text caption, escaped by styled()

# Okabe–Ito: bluish green, vermillion, orange. Light tints behind dark text keep the contrast
# well above WCAG AA (≥ 12:1); the full colour marks the cell's left edge; the text says it all.
INK = "#1a1a1a"
MUTED = "#595959"  # 7:1 on white: statements that did not apply
TINTS = {"allowed": ("#cceee3", "#009e73"), "explicitDeny": ("#f7d7bf", "#d55e00"),
         "implicitDeny": ("#faebc6", "#e69f00"), "neutral": ("#ececec", "#8c8c8c")}
OUTCOME_TEXT = {"allowed": "✔ allowed", "explicitDeny": "✖ explicit deny", "implicitDeny": "· implicit deny"}
EFFECT_TINT = {"Allow": "allowed", "Deny": "explicitDeny"}
SEVERITY_TINT = {"critical": "explicitDeny", "high": "explicitDeny", "error": "explicitDeny",
                 "medium": "implicitDeny", "warning": "implicitDeny",
                 "low": "neutral", "info": "neutral", "note": "neutral"}
_LINK = re.compile(r"^https://[^\s\"'<>`]+$")


def tint_css(name: str) -> str:
    """The CSS of a cell in one of :data:`TINTS`: a light background, dark text, a coloured edge."""
    background, edge = TINTS[name]
    return f"background-color: {background}; color: {INK}; border-left: 4px solid {edge}"


def link_lines(escaped: Any) -> str:
    """Documentation links, one per line; only ``https://`` addresses become links.

    The value arrives already HTML-escaped (pandas escapes before calling a formatter), so it
    is safe both as text and inside the quoted ``href``.
    """
    lines = str(escaped).split("\n") if escaped else []
    return "\n".join(f'<a href="{line}" target="_blank" rel="noopener">{line}</a>' if _LINK.match(line) else line
                     for line in lines)


# ── without pandas ───────────────────────────────────────────────────────────────────


class Table:
    """A table where pandas is not installed: the columns and cells a DataFrame would hold.

    Enough of a DataFrame for the lessons: ``columns``, ``index``, ``attrs``, ``empty``,
    ``len()``, ``table["column"]`` (a :class:`Column` of its cells), ``table[["a", "b"]]`` (a
    Table of those columns), ``table.drop(columns=[...])`` (a Table without them) and
    ``table[table["conditions"] != ""]`` (the rows a mask keeps).
    :func:`styled` shows it as the same HTML a pandas Styler would.

    Attributes:
        columns: the column names, in order.
        rows: one list of cells per row, in the columns' order (None for a missing cell).
        index: the row labels (for a matrix, the principals), or None.
        attrs: which table this is and its caption, as DataFrame.attrs.
    """

    def __init__(self, rows: Sequence[Sequence[Any]], columns: Sequence[str], index: Sequence[str] | None = None,
                 index_name: str | None = None, columns_name: str | None = None):
        self.rows = [list(row) for row in rows]
        self.columns = list(columns)
        self.index = list(index) if index is not None else None
        self.index_name, self.columns_name = index_name, columns_name
        self.attrs: dict[str, Any] = {}

    @property
    def empty(self) -> bool:
        return not self.rows or not self.columns

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key: str | Sequence[str] | Sequence[bool]) -> Any:
        if isinstance(key, str):
            return Column(row[self._position(key)] for row in self.rows)
        if key and all(isinstance(k, bool) for k in key):
            if len(key) != len(self.rows):
                raise ValueError(f"a mask of {len(key)} rows for a table of {len(self.rows)}")
            kept = [i for i, keep in enumerate(key) if keep]
            rows, index = [self.rows[i] for i in kept], [self.index[i] for i in kept] if self.index else None
            table = Table(rows, self.columns, index, self.index_name, self.columns_name)
        else:
            positions = [self._position(str(k)) for k in key]
            table = Table([[row[i] for i in positions] for row in self.rows], [str(k) for k in key], self.index,
                          self.index_name, self.columns_name)
        table.attrs = dict(self.attrs)
        return table

    def drop(self, *, columns: str | Sequence[str]) -> Table:
        """The table without ``columns``, as ``DataFrame.drop(columns=...)``.

        Raises:
            KeyError: a column the table does not have, naming the ones it has.
        """
        gone = [columns] if isinstance(columns, str) else list(columns)
        for column in gone:
            self._position(column)
        return self[[c for c in self.columns if c not in gone]]  # type: ignore[no-any-return]

    def _position(self, column: str) -> int:
        try:
            return self.columns.index(column)
        except ValueError:
            raise KeyError(f"no column `{column}` — the columns are {', '.join(self.columns)}") from None

    def _repr_html_(self) -> str:
        return StyledTable(self, self.attrs.get(TABLE_KIND) or "table").to_html()

    def __repr__(self) -> str:
        return f"<Table {self.attrs.get(TABLE_KIND) or 'table'}: {len(self.rows)} rows × {len(self.columns)} columns>"


class Column(list):  # type: ignore[type-arg]
    """One column of a :class:`Table`: ``==`` and ``!=`` compare cell by cell, giving a row mask."""

    def __eq__(self, other: object) -> list[bool]:  # type: ignore[override]
        return [cell == other for cell in self]

    def __ne__(self, other: object) -> list[bool]:  # type: ignore[override]
        return [cell != other for cell in self]

    __hash__ = None  # type: ignore[assignment]


class StyledTable:
    """:func:`styled` of a :class:`Table`: the pandas Styler's text, tints and escaping, as HTML."""

    def __init__(self, table: Table, kind: str):
        self.table, self.kind = table, kind

    def _cell(self, column: str, value: Any) -> tuple[str, str]:
        """A cell's HTML and CSS, as the pandas styles of its kind make them."""
        if self.kind == "matrix":
            if value is None:
                return html.escape("— not evaluated"), f"color: {MUTED}"
            return html.escape(OUTCOME_TEXT.get(value, str(value))), tint_css(value) if value in OUTCOME_TEXT else ""
        text = "" if value is None else html.escape(str(value))
        if self.kind == "trace" and column == "applies":
            text = "✔ applies" if value else "· does not apply"
        elif self.kind == "trace" and column == "determining":
            text = "★ determining" if value else ""
        elif self.kind == "findings" and column == "docs":
            text = link_lines(text)
        css = ""
        if column == "effect" and self.kind in ("trace", "policy"):
            css = tint_css(EFFECT_TINT.get(str(value), "neutral"))
        elif column == "severity" and self.kind == "findings":
            css = tint_css(SEVERITY_TINT.get(str(value).lower(), "neutral"))
        return text, css

    def _row_css(self, row: dict[str, Any]) -> str:
        if self.kind != "trace":
            return ""
        if bool(row.get("determining", False)):
            background = TINTS[EFFECT_TINT.get(str(row.get("effect")), "neutral")][0]
            return f"background-color: {background}; color: {INK}; font-weight: bold"
        return f"color: {MUTED}" if "applies" in row and not row["applies"] else ""

    def to_html(self) -> str:
        t = self.table
        labels = self.kind == "matrix" and t.index is not None
        cell_css = "white-space: pre-line; text-align: left; vertical-align: top"
        head = "".join(f'<th style="text-align: left">{html.escape(str(c))}</th>' for c in t.columns)
        if labels:
            head = f'<th style="text-align: left">{html.escape(t.index_name or "")}</th>' + head
        body = []
        for i, cells in enumerate(t.rows):
            row = dict(zip(t.columns, cells, strict=True))
            whole = self._row_css(row)
            tds = []
            for column, value in row.items():
                text, css = self._cell(column, value)
                style = "; ".join(p for p in (cell_css, "" if column == "effect" else whole, css) if p)
                tds.append(f'<td style="{style}">{text}</td>')
            label = f'<th style="text-align: left">{html.escape(str(t.index[i]))}</th>' if labels and t.index else ""
            body.append(f"<tr>{label}{''.join(tds)}</tr>")
        caption = t.attrs.get(TABLE_CAPTION)
        caption_html = (f'<caption style="caption-side: top; text-align: left; font-weight: bold">'
                        f"{html.escape(caption)}</caption>" if caption else "")
        return (f'<table class="iamkit-table iamkit-{self.kind}">{caption_html}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(body)}</tbody></table>")

    def _repr_html_(self) -> str:
        return self.to_html()
