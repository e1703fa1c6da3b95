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
import email.parser
import functools
import hashlib
import http.server
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

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


SANDBOX_NOTE = (
    "> **In the browser edition (JupyterLite)** this lesson stops at its first code cell: it starts the "
    "sandbox, a local AWS endpoint that a browser tab cannot run. Open it in the full workbook "
    "(`./scripts/workbook`) or on Binder. Lessons 06 (deny wins) and 07 (conditions) run here unchanged."
)


def lessons(target: pathlib.Path) -> None:
    """Copy notebooks/ into ``target``, with a note at the top of each lesson that needs the sandbox."""
    shutil.copytree(ROOT / "notebooks", target, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in sorted(target.glob("[0-9]*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if any("start_sandbox(" in "".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"):
            note = {"cell_type": "markdown", "metadata": {"tags": ["iamkit-lite-note"]}, "source": [SANDBOX_NOTE]}
            notebook["cells"].insert(1, note)  # after the lesson's title
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
        upstream = json.loads((core / "pyodide-lock.json").read_text())
        (pyodide / "pyodide-lock.json").write_text(json.dumps(site_lock(upstream, served), indent=1, sort_keys=True))
        for wheel in served:
            shutil.copy(wheel, pyodide)
        for name in ("jupyter-lite.json", "overrides.json"):
            shutil.copy(HERE / name, lite_dir)
        lessons(work / "contents")
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
