"""DOT source and the :class:`Diagram` it becomes: what every iamkit diagram shares.

A :class:`Diagram` holds deterministic DOT source (stable node ids such as ``n_identity``,
nodes and edges in a fixed order, no timestamps) and a text alternative that describes the
same thing in words. In Jupyter it displays as SVG drawn by Graphviz's ``dot`` program;
when ``dot`` (or the ``graphviz`` Python package) is missing it displays the text
alternative, how to install ``dot``, and the DOT source — never a traceback.

Untrusted text (user, group, role and policy names, Sids, tag values, ARNs) is escaped for
DOT wherever it appears: ``\\`` and ``"`` are backslash-escaped, ``&`` ``<`` ``>`` ``{`` ``}``
``|`` become character entities, and newlines and other control characters cannot break a
line or a statement. Node ids are built from names reduced to ``[A-Za-z0-9_]``.

Colours are Okabe–Ito (safe for colour-blind readers), and shape and text always carry the
same meaning. The diagrams themselves are in :mod:`iamkit.views.flowchart` and
:mod:`iamkit.views.account_diagrams`; :mod:`iamkit.views.diagrams` is where to import them from.
"""

from __future__ import annotations

import hashlib
import html
import pathlib
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..display import mime_filter, wanted
from ..engine.decision import Outcome, StatementTrace
from ..errors import DiagramError

__all__ = ["ALLOW", "DENY", "GREY", "IMPLICIT", "INSTALL_HINT", "MISSING_DOT", "NEUTRAL", "OUTCOME_COLOUR",
           "TINT", "VERDICT_COLOUR", "Diagram", "DiagramError", "DotGraph", "dot_id", "dot_label", "first_few",
           "statement_ref"]

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
ALLOW = "#009E73"  # bluish green
DENY = "#D55E00"  # vermillion
IMPLICIT = "#E69F00"  # orange
NEUTRAL = "#56B4E9"  # sky blue
GREY = "#999999"
TINT = "33"  # alpha for fills: a light tint of the same colour, text stays black

INSTALL_HINT = ("on Debian/Ubuntu `sudo apt-get install graphviz`, "
                "with conda `conda install -c conda-forge graphviz`")
MISSING_DOT = f"Graphviz's `dot` program is not installed: {INSTALL_HINT}"

_FONT = "Helvetica,Arial,sans-serif"
_WRAP = 42


# ── the Diagram ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Diagram:
    """A diagram as DOT source plus a text alternative; displays itself in Jupyter.

    Attributes:
        kind: ``flowchart``, ``account``, ``trust`` or ``cross-account``.
        source: the DOT source, byte-identical for the same input.
        text: the same content in words, for terminals, screen readers and test failures.
        nodes, edges: how many of each the source holds.
    """

    kind: str
    source: str
    text: str
    nodes: int = field(default=0, compare=False)
    edges: int = field(default=0, compare=False)

    def svg(self) -> str:
        """The diagram as SVG text, drawn by Graphviz's ``dot``.

        Raises:
            DiagramError: when the ``graphviz`` package or the ``dot`` program is missing,
                or ``dot`` fails; the message says how to install it.
        """
        return _render(self.source, "svg").decode("utf-8")

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the diagram to a file; the suffix picks the format.

        ``.svg``, ``.png`` and ``.pdf`` are drawn by ``dot``; ``.dot``/``.gv`` write the DOT
        source and ``.txt`` the text alternative (neither needs ``dot``).

        Returns:
            The path written.

        Raises:
            DiagramError: for another suffix, or when ``dot`` is needed and missing.
        """
        target = pathlib.Path(path)
        suffix = target.suffix.lower().lstrip(".")
        if suffix in ("dot", "gv"):
            target.write_text(self.source, encoding="utf-8")
        elif suffix == "txt":
            target.write_text(self.text + "\n", encoding="utf-8")
        elif suffix in ("svg", "png", "pdf"):
            target.write_bytes(_render(self.source, suffix))
        else:
            raise DiagramError(f"cannot save a diagram as `{target.suffix or target.name}`",
                               "use a `.svg`, `.png`, `.pdf`, `.dot` or `.txt` file name")
        return target

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if wanted("image/svg+xml", include, exclude):
            try:
                bundle["image/svg+xml"] = self.svg()
            except DiagramError as error:
                # No `dot` here (or no graphviz package): the browser draws it, where it can.
                drawn = _browser_bundle(self, include, exclude) if INSTALL_HINT in (error.hint or "") else None
                if drawn is not None:
                    return drawn
                message = MISSING_DOT if error.hint == INSTALL_HINT else str(error)
                fallback = {"text/plain": f"{self.text}\n\n{message}\n\nDOT source:\n{self.source}",
                            "text/html": self._fallback_html(message)}
                return mime_filter(fallback, include, exclude)
        if wanted("text/plain", include, exclude):
            bundle["text/plain"] = self.text
        return bundle

    def _fallback_html(self, message: str) -> str:
        return ('<div class="iamkit-diagram iamkit-diagram-fallback">'
                f"<p><strong>{html.escape(message)}</strong></p>"
                f'<pre style="white-space:pre-wrap">{html.escape(self.text)}</pre>'
                f"<details><summary>DOT source</summary><pre>{html.escape(self.source)}</pre></details></div>")

    def __repr__(self) -> str:
        return f"<Diagram {self.kind}: {self.nodes} nodes, {self.edges} edges>"


def _browser_bundle(diagram: Diagram, include: Any, exclude: Any) -> dict[str, Any] | None:
    """The diagram as a widget the browser draws (Graphviz in WebAssembly), where anywidget is
    installed; None where it is not, or when the widget view is not wanted."""
    try:
        from .graphview import WIDGET_VIEW, mimebundle
    except ImportError:  # anywidget is not installed
        return None
    if not wanted(WIDGET_VIEW, include, exclude):
        return None
    return mimebundle(diagram.source, diagram.text, include, exclude)


def _render(source: str, fmt: str) -> bytes:
    try:
        import graphviz
    except ImportError:
        raise DiagramError("the `graphviz` Python package is not installed",
                           "`pip install graphviz`, and Graphviz's `dot` program: " + INSTALL_HINT) from None
    try:
        return graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise DiagramError("Graphviz's `dot` program is not installed", INSTALL_HINT) from None
    except graphviz.CalledProcessError as error:
        stderr = error.stderr.decode("utf-8", "replace") if isinstance(error.stderr, bytes) else str(error.stderr)
        raise DiagramError(f"`dot` could not draw the diagram: {stderr.strip()}",
                           "report this as an iamkit bug, with the DOT source") from None


# ── DOT text ───────────────────────────────────────────────────────────────────

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "{": "&#123;", "}": "&#125;", "|": "&#124;"}


def _escape(text: str) -> str:
    """One line of label text, safe inside a DOT double-quoted string.

    Backslashes and quotes are escaped (so ``\\N`` or ``\\l`` stay literal and a quote cannot
    end the string); ``& < > { } |`` become entities, which Graphviz decodes for display,
    so no markup or record syntax survives; newlines and control characters are shown as
    ``↵`` or a space so user text cannot start a line of its own.
    """
    out = []
    for ch in text.replace("\r\n", "\n"):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in _ENTITIES:
            out.append(_ENTITIES[ch])
        elif ch in "\r\n":
            out.append("↵")
        elif ord(ch) < 32 or 127 <= ord(ch) < 160:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def dot_label(*lines: str, width: int = _WRAP) -> str:
    """Lines of text, each escaped and wrapped, joined with DOT line breaks (``\\n``)."""
    out: list[str] = []
    for line in lines:
        wrapped = textwrap.wrap(line, width, break_long_words=True, break_on_hyphens=False) or [""]
        out.extend(_escape(w) for w in wrapped)
    return "\\n".join(out)


def dot_id(prefix: str, name: str) -> str:
    """A stable node id: ``prefix_name`` reduced to ``[A-Za-z0-9_]``, with a short hash when
    the name had to change (so two names never share an id)."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:40]
    if slug != name or not slug:
        slug = f"{slug}_{hashlib.sha1(name.encode('utf-8')).hexdigest()[:8]}".lstrip("_")
    return f"{prefix}_{slug}"


class DotGraph:
    """A small DOT writer: nodes, edges and clusters in the order they were added."""

    def __init__(self, name: str, **attrs: str):
        self.name = name
        self.attrs = {"fontname": _FONT, "fontsize": "12", "labelloc": "t", **attrs}
        self.nodes: dict[str, dict[str, str]] = {}
        self.node_cluster: dict[str, str | None] = {}
        self.edges: dict[tuple[str, str], dict[str, str]] = {}
        self.clusters: dict[str, dict[str, str]] = {}
        self.ranks: list[tuple[str, tuple[str, ...]]] = []  # ("same" | "sink", node ids)

    def node(self, node_id: str, cluster: str | None = None, **attrs: str) -> None:
        self.nodes.setdefault(node_id, {}).update(attrs)
        self.node_cluster.setdefault(node_id, cluster)

    def edge(self, tail: str, head: str, **attrs: str) -> None:
        self.edges.setdefault((tail, head), {}).update(attrs)

    def cluster(self, cluster_id: str, **attrs: str) -> None:
        self.clusters[cluster_id] = attrs

    @staticmethod
    def _attrs(attrs: Mapping[str, str]) -> str:
        # Labels are escaped by dot_label; every other value is iamkit's own (shapes, colours).
        ordered = sorted(attrs.items(), key=lambda kv: (kv[0] != "label", kv[0]))
        return ", ".join(f'{k}="{v if k in ("label", "xlabel") else _escape(v)}"' for k, v in ordered)

    def source(self) -> str:
        lines = [f'digraph "{self.name}" {{',
                 f"  graph [{self._attrs(self.attrs)}];",
                 f'  node [fontname="{_FONT}", fontsize="10", margin="0.12,0.06"];',
                 f'  edge [fontname="{_FONT}", fontsize="9"];']
        for cluster_id, attrs in self.clusters.items():
            lines.append(f'  subgraph "{cluster_id}" {{')
            lines.append(f"    graph [{self._attrs(attrs)}];")
            lines.extend(f'    "{n}" [{self._attrs(a)}];' for n, a in self.nodes.items()
                         if self.node_cluster[n] == cluster_id)
            lines.append("  }")
        lines.extend(f'  "{n}" [{self._attrs(a)}];' for n, a in self.nodes.items() if self.node_cluster[n] is None)
        lines.extend(f'  "{t}" -> "{h}" [{self._attrs(a)}];' for (t, h), a in self.edges.items())
        for rank, group in self.ranks:
            lines.append(f'  {{ rank="{rank}"; ' + " ".join(f'"{n}";' for n in group) + " }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def diagram(self, kind: str, text: str) -> Diagram:
        return Diagram(kind, self.source(), text, len(self.nodes), len(self.edges))


def first_few(items: Sequence[str], limit: int, noun: str = "more") -> list[str]:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"… and {len(items) - limit} {noun}")
    return shown


def statement_ref(t: StatementTrace) -> str:
    return f"{t.effect} {t.statement.label} ({t.where})"


OUTCOME_COLOUR = {Outcome.ALLOWED: ALLOW, Outcome.EXPLICIT_DENY: DENY, Outcome.IMPLICIT_DENY: IMPLICIT}
VERDICT_COLOUR = {"pass": ALLOW, "allow": ALLOW, "skip": NEUTRAL, "deny": DENY, "implicit": IMPLICIT}
