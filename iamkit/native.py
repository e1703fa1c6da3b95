"""The engine compiled with mypyc, where it is built: the same source, run as C.

The modules in :data:`MODULES` are plain Python and always work as such (in Binder, conda,
JupyterLite, a checkout never built). ``scripts/native`` compiles them with mypyc, the compiler
that comes with mypy, into ``iamkit-native/<key>`` under this environment's prefix, where
``<key>`` is a checksum of their sources and of the sources they import. At import, iamkit puts
that directory ahead of its own in its packages' search paths (:func:`extend`) only when it holds
the build of the sources as they are now: after an edit the checksum differs and iamkit runs as
plain Python, with the same answers, until the next build. ``IAMKIT_PURE=1`` never uses a build.

Compiled, a 2,000-line batch takes about two-thirds of the plain Python's time (start-up is
the same) and a prepared policy set answers about twice as many requests a second
(``benchmarks/engine.py`` says which kind it measured); the ``native`` test lane checks that both
kinds give the same answers, line for line.
"""

from __future__ import annotations

import os
import sys
import zlib

__all__ = ["KEYED", "MODULES", "compiled", "directory", "extend", "key", "source"]

# The hot path of a batch line and of a prepared policy set, and what they import from iamkit.
# Not iamkit.errors nor iamkit.engine.variables: mypyc does not compile their subclasses of builtin
# types (ValueError, str).
MODULES = (
    "iamkit.engine.reading",
    "iamkit.engine.jsonpos",
    "iamkit.engine.model",
    "iamkit.engine.policy",
    "iamkit.engine.principals",
    "iamkit.engine.matching",
    "iamkit.engine.conditions",
    "iamkit.engine.scenario",
    "iamkit.engine.decision",
    "iamkit.engine.evaluator",
    "iamkit.engine.prepared",
    "iamkit.cli.simulate",
)

# The sources a build is made from: the compiled modules and every iamkit module they import, whose
# names and types they were compiled against (tests/test_native.py checks the list is whole). An
# edit to any of them makes the build stale.
KEYED = (*MODULES, "iamkit.errors", "iamkit.display", "iamkit.engine.explain",
         "iamkit.engine.variables", "iamkit.cli._common", "iamkit.cli._workers")

_HERE = os.path.dirname(os.path.abspath(__file__))


def source(module: str) -> str:
    """The path of an iamkit module's source file."""
    return os.path.join(_HERE, *module.split(".")[1:]) + ".py"


def key() -> str:
    """A checksum of the sources in :data:`KEYED` and of this interpreter's ABI."""
    crc, adler, size = 0, 1, 0
    for module in KEYED:
        with open(source(module), "rb") as f:
            text = f.read()
        crc, adler, size = zlib.crc32(text, crc), zlib.adler32(text, adler), size + len(text)
    return f"{sys.implementation.cache_tag}-{crc:08x}{adler:08x}{size:x}"


def directory() -> str:
    """Where the build of the sources as they are now belongs (it may not exist)."""
    return os.path.join(sys.prefix, "iamkit-native", key())


def _usable() -> str | None:
    if os.environ.get("IAMKIT_PURE", "") not in ("", "0"):
        return None
    try:
        where = directory()
    except OSError:  # a source is unreadable: run what Python can import
        return None
    return where if os.path.isdir(where) else None


_BUILD = _usable()


def extend(package: str, path: list[str]) -> None:
    """Put the build's directory for ``package`` ahead of the package's own ``path``."""
    if _BUILD is not None:
        path.insert(0, os.path.join(_BUILD, *package.split(".")))


def compiled() -> bool:
    """Whether the engine in this process is the compiled build (as soon as it is imported)."""
    evaluator = sys.modules.get("iamkit.engine.evaluator")
    return evaluator is not None and not (getattr(evaluator, "__file__", None) or "").endswith(".py")
