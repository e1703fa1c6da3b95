"""Build, serve and lock the JupyterLite edition of the workbook; run by scripts/lite.

The site is static and needs no server of iamkit's and no network once loaded: the Pyodide
runtime (npm's ``pyodide`` core, pinned in lite/package-lock.json) is served from the site itself
(the kernel's ``pyodideUrl``), and every Python package the kernel loads is a pure-Python wheel
in the site, hash-pinned in lite/requirements.txt, plus the iamkit wheel built from this tree.

Pyodide's own ``pyodide-lock.json`` names 356 packages whose wheels npm's core does not carry;
the site's lock names only the wheels the site serves (micropip, iamkit and its dependencies),
with their real hashes, so a missing package fails at once with its name instead of being
fetched from a CDN. The kernel loads them at start-up (``loadPyodideOptions.packages``): a
lesson's ``import iamkit`` needs no ``%pip install``.
"""

from __future__ import annotations

import argparse
import ast
import base64
import email.parser
import functools
import hashlib
import http.server
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
SITE = ROOT / "build" / "lite" / "site"
"""The built site (git-ignored with the rest of build/)."""
PYODIDE_VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["pyodide"]
PYODIDE_ENV = {"sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
               "os_name": "posix", "python_version": "3.14", "python_full_version": "3.14.2",
               "implementation_name": "cpython", "platform_python_implementation": "CPython", "extra": ""}
"""How Pyodide 314 answers environment markers in a wheel's requirements."""
STATIC_FILES = ("iamkit/views/static/graph.js", "iamkit/views/static/viz.js")
"""Files the iamkit wheel must carry for diagrams to draw in the browser."""


FRONT_ENDS = ("jupyterlab_widgets-", "anywidget-")
"""The wheels whose JupyterLab extensions the site carries: ipywidgets' manager and anywidget."""
PYODIDE_KERNEL_EXTENSION = pathlib.Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyterlite",
                                        "pyodide-kernel-extension")
"""The Pyodide kernel's front end, as jupyterlite-pyodide-kernel installs it."""


class BuildError(Exception):
    """The site cannot be built; the message says why and what to do."""


def run(argv: list[str], **kwargs: object) -> None:
    print("$", " ".join(argv), flush=True)
    subprocess.run(argv, check=True, **kwargs)  # type: ignore[call-overload]


# ── pieces of the site ──────────────────────────────────────────────────────────


def pyodide_core(work: pathlib.Path) -> pathlib.Path:
    """npm's pyodide package at the locked version (npm checks its integrity): the runtime files."""
    shutil.copy(HERE / "package.json", work)
    shutil.copy(HERE / "package-lock.json", work)
    run(["npm", "ci", "--prefix", str(work), "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"])
    return work / "node_modules" / "pyodide"


def iamkit_wheel(work: pathlib.Path) -> pathlib.Path:
    """The iamkit wheel of this tree, checked to carry the browser renderer's files."""
    run([str(pathlib.Path(sys.executable).with_name("uv")), "build", "--wheel", "--quiet", "--out-dir", str(work),
         str(ROOT)])
    (wheel,) = work.glob("iamkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        missing = [name for name in STATIC_FILES if name not in archive.namelist()]
    if missing:
        raise BuildError(f"the iamkit wheel lacks {', '.join(missing)} — hint: add \"static/*\" to the "
                         "\"iamkit.views\" entry of [tool.setuptools.package-data] in pyproject.toml")
    return wheel


def extension_wheel(work: pathlib.Path) -> pathlib.Path:
    """lite/iamkit_lite.py as a pure-Python wheel of its own: the site serves it, the kernel loads it."""
    source = (HERE / "iamkit_lite.py").read_bytes()
    version = hashlib.sha256(source).hexdigest()[:12]  # a new file, a new wheel name: no browser keeps an old one
    dist = f"iamkit_lite-0+{version}.dist-info"
    files = {
        "iamkit_lite.py": source,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: iamkit-lite\nVersion: 0+{version}\n"
                            "Summary: the JupyterLite edition's note on the cells that need the sandbox\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: lite/build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{n},sha256={base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=').decode()},{len(b)}\n"
                     for n, b in files.items()) + f"{dist}/RECORD,,\n"
    wheel = work / f"iamkit_lite-0+{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for n, b in [*files.items(), (f"{dist}/RECORD", record.encode())]:
            archive.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), b)
    return wheel


def dependency_wheels(work: pathlib.Path) -> list[pathlib.Path]:
    """Every wheel lite/requirements.txt pins, downloaded and hash-checked by pip."""
    run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--only-binary=:all:", "--python-version", "3.14", "--implementation", "py", "--abi", "none",
         "--platform", "any", "--require-hashes", "-r", str(HERE / "requirements.txt"), "-d", str(work)])
    return sorted(work.glob("*.whl"))


def lock_entry(wheel: pathlib.Path) -> dict[str, object]:
    """A pyodide-lock.json entry for a pure-Python wheel: its hash, what it imports and needs."""
    name, version, _build, tags = parse_wheel_filename(wheel.name)
    if any(tag.platform != "any" or tag.abi != "none" for tag in tags):
        raise BuildError(f"{wheel.name} is not a pure-Python wheel: Pyodide cannot load it from this site")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        message = email.parser.Parser().parsestr(archive.read(metadata).decode("utf-8"))
    depends = sorted({canonicalize_name(r.name) for r in map(Requirement, message.get_all("Requires-Dist") or [])
                      if r.marker is None or r.marker.evaluate(PYODIDE_ENV)})
    tops = {n.split("/")[0] for n in names if "/" in n or n.endswith(".py")}
    imports = sorted(t.removesuffix(".py") for t in tops if not t.endswith((".dist-info", ".data")))
    return {"name": message["Name"], "version": str(version), "file_name": wheel.name, "install_dir": "site",
            "package_type": "package", "imports": imports, "depends": depends, "unvendored_tests": False,
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(), "key": canonicalize_name(name)}


def site_lock(upstream: dict[str, object], wheels: list[pathlib.Path]) -> dict[str, object]:
    """Pyodide's lock with only the packages the site serves; fails on a dependency it lacks."""
    entries = {}
    for wheel in wheels:
        entry = lock_entry(wheel)
        entries[str(entry.pop("key"))] = entry
    for entry in entries.values():
        missing = [d for d in entry["depends"] if d not in entries]  # type: ignore[attr-defined]
        if missing:
            raise BuildError(f"{entry['file_name']} needs {', '.join(missing)}, which the site does not serve — "
                             "hint: add it to lite/requirements.in and run scripts/lite lock")
    return {"info": upstream["info"], "packages": dict(sorted(entries.items()))}


# ── the lessons that need the sandbox ───────────────────────────────────────────
#
# The sandbox (moto) cannot run in Pyodide: moto needs cryptography, and npm's Pyodide core carries no
# wheel of it. The site's copy of a lesson that starts the sandbox is rewritten so that Run All goes to
# the end: its setup cell keeps what runs here and moves what needs the sandbox into a cell of its own,
# and every cell that needs the sandbox, or a name that such a cell makes, gets `%%needs_sandbox`
# (lite/iamkit_lite.py): it shows why it does not run here and where it does, instead of raising. The
# rest runs as written. Which cells those are is read from the code itself (IPython's own transform of
# `!aws …` lines, then Python's ast), so the rewrite follows whatever notebooks/ holds; a lesson whose
# shape it does not expect fails the build.

BINDER = "https://mybinder.org/v2/gh/iamkit/iamkit/HEAD?urlpath=lab/tree/notebooks/"
"""README's Binder links: the full workbook, sandbox included, one lesson at a time."""
SANDBOX_MODULES = frozenset({"boto3", "botocore", "moto", "awscli"})
"""Modules that exist only to reach the sandbox: importing one needs the sandbox."""
SANDBOX_NAMES = frozenset({"start_sandbox", "set_root_account"})
"""Functions or methods whose every use needs the sandbox."""
SHELL_CALLS = frozenset({"system", "getoutput"})
"""What IPython turns ``!command`` and ``x = !command`` into (``get_ipython().system(…)``)."""
IN_PROCESS_COMMANDS = frozenset({"iamkit"})
"""``!`` commands that iamkit_lite runs in the kernel's own process; any other needs a shell."""
MAGIC = "%%needs_sandbox"
LOAD_EXTENSION = ("# the browser edition (JupyterLite): cells that need the sandbox say so instead of running\n"
                  "%load_ext iamkit_lite")
BROWSER_ONLY_MODULES = frozenset({"pyodide", "pyodide_js", "js", "micropip"})
"""Modules Pyodide's runtime itself provides."""


def sandbox_note(name: str, skipped: int, code_cells: int) -> str:
    return (f"> **In the browser edition (JupyterLite)** the sandbox cannot run: it is a local AWS endpoint "
            f"(moto), and a browser tab cannot serve one. The {skipped} of this lesson's {code_cells} code cells that "
            f"need it start with `{MAGIC}` and show a note instead of running; every other cell runs here, so Run All "
            f"goes to the end. To run the whole lesson, open it in the full workbook (`./scripts/workbook`) or "
            f"[on Binder]({BINDER}{name}). Lessons 06 (deny wins) and 07 (conditions) need no sandbox and run here "
            "whole.")


def _scoped_names(node: ast.AST) -> set[str]:
    """Names bound inside the function, lambda and comprehension scopes within ``node``."""
    bound: set[str] = set()
    for inner in ast.walk(node):
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = inner.args
            bound |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg] if a}
            for sub in ast.walk(inner):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    bound.add(sub.id)
        elif isinstance(inner, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            for generator in inner.generators:
                bound |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
    return bound


def _shell_command(node: ast.AST) -> str | None:
    """The command of a ``get_ipython().system('…')`` / ``.getoutput('…')`` call, else None."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SHELL_CALLS
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name)
            and node.func.value.func.id == "get_ipython" and node.args and isinstance(node.args[0], ast.Constant)):
        return str(node.args[0].value)
    return None


def _reads(statement: ast.stmt) -> set[str]:
    """The global names a statement reads, ``{…}`` in a ``!command`` included."""
    names = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    for node in ast.walk(statement):
        command = _shell_command(node)
        for expression in re.findall(r"\{([^{}]+)\}", command or ""):
            try:
                names |= {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}
            except SyntaxError:
                pass
    return names - _scoped_names(statement) - {"get_ipython"}


def _binds(statement: ast.stmt) -> set[str]:
    """The global names a statement binds or changes in place (``x[…] = …``, ``x.y = …``)."""
    names: set[str] = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)
    todo: list[ast.AST] = [statement]
    while todo:
        node = todo.pop()
        if isinstance(node, scopes):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            base: ast.expr = node
            while isinstance(base, (ast.Attribute, ast.Subscript)):
                base = base.value
            if isinstance(base, ast.Name):
                names.add(base.id)
        todo.extend(ast.iter_child_nodes(node))
    return names


class Needs:
    """Why a statement (or a cell) cannot run in the browser: the sandbox, modules, names; empty if it can."""

    def __init__(self) -> None:
        self.sandbox, self.modules, self.uses = False, set[str](), set[str]()

    def __bool__(self) -> bool:
        return self.sandbox or bool(self.modules or self.uses)

    def add(self, other: Needs) -> None:
        self.sandbox |= other.sandbox
        self.modules |= other.modules
        self.uses |= other.uses

    def magic(self) -> str:
        """The ``%%needs_sandbox`` line that says it (lite/iamkit_lite.py reads it)."""
        args = ([f"--modules {','.join(sorted(self.modules))}"] if self.modules else []) + \
               ([f"--uses {','.join(sorted(self.uses))}"] if self.uses and not self.sandbox else [])
        return " ".join([MAGIC, *args])


def needs(statement: ast.stmt, tainted: set[str], available: frozenset[str]) -> Needs:
    found = Needs()
    for node in ast.walk(statement):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
            for module in [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]:
                top = str(module).split(".")[0]
                if top in SANDBOX_MODULES:
                    found.sandbox = True
                elif top not in available:
                    found.modules.add(top)
        elif isinstance(node, ast.Name) and node.id in SANDBOX_NAMES or \
                isinstance(node, ast.Attribute) and node.attr in SANDBOX_NAMES:
            found.sandbox = True
        elif (command := _shell_command(node)) is not None and command.split()[:1] == ["aws"]:
            found.sandbox = True
    found.uses = _reads(statement) & tainted
    return found


def _python(source: str, where: str) -> ast.Module:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except SyntaxError as error:
        raise BuildError(f"{where} is not Python that IPython can run ({error.msg}, line {error.lineno}) — hint: "
                         "fix the cell in notebooks/") from None


def _shell_commands(tree: ast.Module) -> list[str]:
    return [c for node in ast.walk(tree) if (c := _shell_command(node)) is not None]


def browser_lesson(notebook: dict[str, Any], name: str, available: frozenset[str]) -> tuple[int, int]:
    """Rewrite a lesson that starts the sandbox so that it runs top to bottom in the browser, in place.

    Returns:
        How many code cells show a note instead of running, and how many code cells the lesson has.

    Raises:
        BuildError: the lesson's shape is not what this rewrite expects.
    """
    cells = notebook["cells"]
    code = [i for i, c in enumerate(cells) if c["cell_type"] == "code"]
    if not code:
        raise BuildError(f"{name} has no code cell")
    setup_index = code[0]
    setup = cells[setup_index]
    setup_source = "".join(setup["source"])
    where = f"{name}, its setup cell (the first code cell)"
    if "start_sandbox(" not in setup_source:
        raise BuildError(f"{where} does not start the sandbox, but a later cell does — hint: start it in the setup "
                         "cell, as every lesson does, or teach lite/build.py the new shape")
    if setup_source.lstrip().startswith(("%", "!")) or "\n!" in setup_source or "\n%" in setup_source:
        raise BuildError(f"{where} is not plain Python — hint: keep `!` and `%` lines out of the setup cell")
    tree = _python(setup_source, where)
    lines = setup_source.splitlines()
    tainted: set[str] = set()
    keep: list[str] = []
    move: list[str] = []
    moved = Needs()
    start = 0
    for statement in tree.body:
        assert statement.end_lineno is not None
        chunk = "\n".join(lines[start:statement.end_lineno])  # comments above a statement go with it
        start = statement.end_lineno
        blank = len(chunk) - len(chunk.lstrip("\n"))
        if blank:  # the blank lines before a statement stay where they are
            keep.append("\n" * (blank - 1))
            chunk = chunk[blank:]
        why = needs(statement, tainted, available)
        if why:
            moved.add(why)
            tainted |= _binds(statement)
            move.append(chunk)
        else:
            tainted -= _binds(statement)  # bound afresh by a statement that runs
            keep.append(chunk)
    if not move:
        raise BuildError(f"{where} calls start_sandbox( but no statement of it needs the sandbox — hint: teach "
                         "lite/build.py how this lesson starts it")
    moved.uses.clear()
    kept = "\n".join(keep).strip("\n")
    kept = re.sub(r"\n{3,}(?!def |class |@)", "\n\n", re.sub(r"\n{4,}", "\n\n\n", kept))  # blank lines as PEP 8 has them
    setup["source"] = _lines(LOAD_EXTENSION + "\n" + kept)
    sandbox_setup = {"cell_type": "code", "execution_count": None, "id": f"{setup.get('id', 'setup')}-sandbox",
                     "metadata": {"tags": ["iamkit-lite-sandbox"]}, "outputs": [],
                     "source": _lines(moved.magic() + "\n" + "\n".join(move).strip("\n"))}
    skipped, rest = 1, []
    for index in code[1:]:
        cell = cells[index]
        source = "".join(cell["source"])
        magic = source.lstrip().startswith("%%")  # read the body: what the magic runs
        tree = _python(source.split("\n", 1)[1] if magic else source, f"{name}, code cell {code.index(index) + 1}")
        # A cell runs whole or not at all. Statement by statement, a name that a statement here binds
        # afresh is no longer the sandbox's; once one statement cannot run, the cell does not run.
        why, bound, here = Needs(), set(), set(tainted)
        for statement in tree.body:
            found = needs(statement, here, available)
            found.uses &= tainted  # what the note names: what earlier cells make
            why.add(found)
            bound |= _binds(statement)
            here = here | _binds(statement) if why else here - _binds(statement)
        if why:
            if magic:
                raise BuildError(f"{name}, code cell {code.index(index) + 1} needs the sandbox but is already a "
                                 "cell magic — hint: teach lite/build.py to mark it another way")
            tainted |= bound
            cell["source"] = _lines(why.magic() + "\n" + source)
            cell["metadata"].setdefault("tags", []).append("iamkit-lite-sandbox")
            skipped += 1
        else:
            tainted = here
            for command in _shell_commands(tree):
                if command.split()[:1] and command.split()[0] not in IN_PROCESS_COMMANDS:
                    raise BuildError(f"{name}, code cell {code.index(index) + 1} runs `!{command}`, which needs a "
                                     "shell, and a browser has none — hint: do it in Python, or teach lite/iamkit_lite.py "
                                     "the command")
            rest.append(index)
    if not rest:
        raise BuildError(f"{name}: every code cell needs the sandbox, so the browser edition would run nothing of it "
                         "— hint: leave the lesson out of the site, or check lite/build.py's reading of it")
    cells.insert(setup_index + 1, sandbox_setup)
    note = {"cell_type": "markdown", "id": "iamkit-lite-note", "metadata": {"tags": ["iamkit-lite-note"]},
            "source": _lines(sandbox_note(name, skipped, len(code) + 1))}
    cells.insert(1, note)  # after the lesson's title
    return skipped, len(code) + 1


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def lessons(target: pathlib.Path, available: frozenset[str]) -> None:
    """Copy notebooks/ into ``target``; rewrite there each lesson that starts the sandbox (browser_lesson)."""
    shutil.copytree(ROOT / "notebooks", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in sorted(target.glob("[0-9]*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if any("start_sandbox(" in "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"):
            skipped, total = browser_lesson(notebook, path.name, available)
            print(f"{path.name}: {total - skipped} of {total} code cells run in the browser, {skipped} show why not")
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ── commands ────────────────────────────────────────────────────────────────────


def build(output: pathlib.Path) -> None:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iamkit-lite-") as tmp:
        work = pathlib.Path(tmp)
        lite_dir, wheels = work / "lite", work / "wheels"
        pyodide = lite_dir / "static" / "pyodide"  # jupyterlite-pyodide-kernel's well-known place
        for folder in (pyodide, wheels, work / "npm"):
            folder.mkdir(parents=True)
        core = pyodide_core(work / "npm")
        for item in core.iterdir():
            if item.is_file() and item.suffix in (".mjs", ".js", ".wasm", ".zip", ".json") and item.name != "package.json":
                shutil.copy(item, pyodide)
        served = [iamkit_wheel(wheels), *dependency_wheels(wheels)]
        served.append(extension_wheel(work))
        upstream = json.loads((core / "pyodide-lock.json").read_text())
        (pyodide / "pyodide-lock.json").write_text(json.dumps(site_lock(upstream, served), indent=1, sort_keys=True))
        for wheel in served:
            shutil.copy(wheel, pyodide)
        for name in ("jupyter-lite.json", "overrides.json"):
            shutil.copy(HERE / name, lite_dir)
        available = frozenset(sys.stdlib_module_names) | BROWSER_ONLY_MODULES | {
            str(module) for wheel in served for module in lock_entry(wheel)["imports"]}  # type: ignore[attr-defined]
        lessons(work / "contents", available)
        shutil.rmtree(output, ignore_errors=True)
        output.parent.mkdir(parents=True, exist_ok=True)
        # Only the front ends the lessons use, not every extension of this environment (nbgrader, Voila, …).
        extensions = [*(w for w in served if w.name.startswith(FRONT_ENDS)), PYODIDE_KERNEL_EXTENSION]
        run([str(pathlib.Path(sys.executable).with_name("jupyter")), "lite", "build", "--lite-dir", str(lite_dir),
             "--output-dir", str(output), "--contents", str(work / "contents"), "--no-sourcemaps",
             "--no-unused-shared-packages", "--ignore-sys-prefix",
             *(f"--LiteBuildConfig.federated_extensions={e}" for e in extensions)], cwd=work)
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    print(f"built {output}: {size / 2**20:.1f} MiB, {len(served)} wheels, "
          f"Pyodide {PYODIDE_VERSION}, in {time.monotonic() - started:.0f} s")


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm",
                      ".json": "application/json", ".whl": "application/zip"}

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a rebuilt site is never half old
        super().end_headers()


def serve(site: pathlib.Path, port: int) -> None:
    if not (site / "index.html").is_file():
        raise BuildError(f"no site at {site} — hint: run scripts/lite build first")
    handler = functools.partial(_Handler, directory=str(site))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving the JupyterLite edition at http://127.0.0.1:{server.server_port}/lab/index.html "
              "(this machine only; Ctrl-C stops)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def lock() -> None:
    """Compile lite/requirements.in into lite/requirements.txt for Pyodide (needs PyPI)."""
    run([str(pathlib.Path(sys.executable).with_name("uv")), "pip", "compile", "--quiet", str(HERE / "requirements.in"),
         "--python-platform", "wasm32-pyodide2025", "--python-version", "3.14", "--only-binary", ":all:",
         "--generate-hashes", "--no-header", "--output-file", str(HERE / "requirements.txt")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/lite", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    built = commands.add_parser("build", help="build the site into build/lite/site")
    built.add_argument("--output", type=pathlib.Path, default=SITE)
    served = commands.add_parser("serve", help="serve a built site on 127.0.0.1")
    served.add_argument("--port", type=int, default=8000)
    served.add_argument("--site", type=pathlib.Path, default=SITE)
    commands.add_parser("lock", help="re-make lite/requirements.txt from lite/requirements.in")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build(args.output.resolve())
        elif args.command == "serve":
            serve(args.site.resolve(), args.port)
        else:
            lock()
    except BuildError as error:
        print(f"scripts/lite: {error}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as error:
        print(f"scripts/lite: `{' '.join(map(str, error.cmd))}` failed with status {error.returncode}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
