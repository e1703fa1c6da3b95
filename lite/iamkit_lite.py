"""The browser edition's part of a lesson that needs the sandbox (an IPython extension).

The JupyterLite site's copy of such a lesson loads it in its setup cell (``%load_ext iamkit_lite``;
lite/build.py writes that line, and this module is a wheel of the site). It gives the kernel:

- ``%%needs_sandbox``: the site's build puts it on every cell that needs the sandbox, or needs what
  such a cell makes. Where the sandbox cannot run (Pyodide) the cell is not run: it shows what it
  needs, why the browser cannot give it, and where the lesson runs whole. Elsewhere (the same
  notebook opened in the full workbook) the cell runs as written.
- ``!iamkit …`` runs iamkit's command line in this process (a browser has no shell to start it in);
  ``!aws …`` says it needs the sandbox; any other ``!`` command says the browser has no shell. None
  of them raises, so Run All goes on.

Nothing here is iamkit's: the module only lives in the site (lite/build.py builds its wheel).
"""

from __future__ import annotations

import html
import re
import shlex
import sys
from typing import Any

__all__ = ["FULL_WORKBOOK", "load_ipython_extension", "needs_sandbox", "note"]

IN_BROWSER = sys.platform == "emscripten"
FULL_WORKBOOK = "https://mybinder.org/v2/gh/iamkit/iamkit/HEAD?urlpath=lab/tree/notebooks"
"""The lessons on Binder: the full workbook, sandbox included (README's Binder links)."""


def note(why: str) -> dict[str, str]:
    """The mimebundle of a cell the browser edition does not run: what it needs and where it runs."""
    where = ("Run it in the full workbook: <code>./scripts/workbook</code> on your machine, or "
             f'<a href="{FULL_WORKBOOK}" target="_blank" rel="noopener">on Binder</a> '
             "(the note at the top of this lesson links to this lesson there).")
    text = (f"Not run in the browser edition: {why}.\nRun it in the full workbook: ./scripts/workbook, or on "
            f"Binder ({FULL_WORKBOOK}).")
    body = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(why))
    return {"text/plain": text,
            "text/html": f'<div class="iamkit-lite-skipped" style="border-left: 4px solid #d9a400; padding: 4px 10px; '
                         f'background: rgba(217, 164, 0, 0.08)"><b>Not run in the browser edition:</b> {body}. '
                         f"{where}</div>"}


WHY = ("the sandbox is the local AWS endpoint that `aws` and boto3 talk to, and it cannot run in a browser "
       "tab: it is moto, which needs the cryptography package, which this edition's Python lacks")


def _names(names: str) -> str:
    quoted = [f"`{n}`" for n in names.split(",") if n]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def reason(line: str) -> str:
    """What a ``%%needs_sandbox [--uses A,B] [--modules M]`` line says the cell needs, in words."""
    words, given = shlex.split(line), {}
    while len(words) >= 2 and words[0] in ("--uses", "--modules"):
        flag, value = words.pop(0), words.pop(0)
        given[flag] = value
    if "--uses" in given:
        return f"this cell uses {_names(given['--uses'])}, which earlier cells make with the sandbox; {WHY}"
    if "--modules" in given:
        return (f"this cell needs {_names(given['--modules'])}, which the browser edition does not install, "
                f"and the sandbox; {WHY}")
    return f"this cell needs the sandbox; {WHY}"


def needs_sandbox(line: str, cell: str) -> None:
    """``%%needs_sandbox [--uses A,B] [--modules M]``: in the browser, say why; elsewhere, run the cell."""
    shell = _shell()
    if not IN_BROWSER:
        shell.run_cell(cell)
        return
    from IPython.display import display

    display(note(reason(line)), raw=True)


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()


def _iamkit(argv: list[str]) -> int:
    """iamkit's command line, in this process: the console script's entry point, wherever it lives."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "iamkit"]
    try:
        return int(script.load()(argv) or 0)
    except SystemExit as exc:  # argparse's --help and usage errors
        return exc.code if isinstance(exc.code, int) else 2


def system(command: str) -> None:
    """``!command`` in the browser: iamkit in this process, a note for anything else."""
    from IPython.display import display

    shell = _shell()
    words = shlex.split(shell.var_expand(command, depth=1))
    if words and words[0] == "iamkit":
        status = _iamkit(words[1:])
    elif words and words[0] == "aws":
        display(note(reason("")), raw=True)
        status = 0
    else:
        print(f"the browser edition has no shell: `{words[0] if words else command}` cannot run here", file=sys.stderr)
        status = 127
    shell.user_ns["_exit_code"] = status


def load_ipython_extension(shell: Any) -> None:
    shell.register_magic_function(needs_sandbox, "cell", "needs_sandbox")
    if IN_BROWSER:
        shell.system = system
