"""How every iamkit object shows itself in Jupyter: one display mixin, one MIME filter.

IPython asks an object for ``_repr_mimebundle_(include, exclude)`` and shows the richest
representation the front end can; terminals, previews and tests read ``text/plain``. An object
that mixes in :class:`RichDisplay` lists how to make each representation, and only the ones asked
for are made (a QR code's PNG is not drawn for a plain-text front end). A class compiled with mypyc
(iamkit.native), which cannot inherit from an interpreted one, answers with :func:`mime_bundle`.
"""

from __future__ import annotations

from typing import Any, Callable, Collection, Mapping

__all__ = ["RichDisplay", "mime_bundle", "mime_filter", "wanted"]


def wanted(mime: str, include: Collection[str] | None, exclude: Collection[str] | None) -> bool:
    """Whether IPython's ``include``/``exclude`` arguments ask for ``mime`` (empty means all)."""
    return (not include or mime in include) and (not exclude or mime not in exclude)


def mime_filter(bundle: Mapping[str, Any], include: Collection[str] | None,
                exclude: Collection[str] | None) -> dict[str, Any]:
    """The part of a display bundle that ``include`` and ``exclude`` ask for."""
    return {mime: value for mime, value in bundle.items() if wanted(mime, include, exclude)}


def mime_bundle(representations: Mapping[str, Callable[[], Any]], include: Collection[str] | None,
                exclude: Collection[str] | None) -> dict[str, Any]:
    """Each representation that ``include`` and ``exclude`` ask for, made; the others are not."""
    return {mime: render() for mime, render in representations.items() if wanted(mime, include, exclude)}


class RichDisplay:
    """Mixin: ``_repr_mimebundle_`` from the representations a class lists in ``_representations``."""

    def _representations(self) -> Mapping[str, Callable[[], Any]]:
        """Each MIME type the object can show, with the function that renders it."""
        return {"text/plain": lambda: repr(self)}

    def _repr_mimebundle_(self, include: Collection[str] | None = None, exclude: Collection[str] | None = None,
                          **kwargs: Any) -> dict[str, Any]:
        return mime_bundle(self._representations(), include, exclude)
