"""One display protocol for every iamkit object (iamkit.display)."""

from __future__ import annotations

from typing import Any, Callable

from iamkit import evaluate
from iamkit.display import RichDisplay, mime_filter, wanted
from iamkit.exercises import check_prediction

SCENARIO = {"request": {"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                        "resource": "arn:aws:s3:::amzn-s3-demo-bucket/a"}}


class Counted(RichDisplay):
    def __init__(self) -> None:
        self.made: list[str] = []

    def _representations(self) -> dict[str, Callable[[], Any]]:
        def make(mime: str) -> Callable[[], str]:
            return lambda: self.made.append(mime) or mime
        return {"text/plain": make("text/plain"), "text/html": make("text/html"), "image/png": make("image/png")}


def test_only_the_representations_asked_for_are_made() -> None:
    shown = Counted()
    assert shown._repr_mimebundle_(include=["text/plain"]) == {"text/plain": "text/plain"}
    assert shown.made == ["text/plain"]
    assert set(shown._repr_mimebundle_(exclude=["image/png"])) == {"text/plain", "text/html"}
    assert set(shown._repr_mimebundle_()) == {"text/plain", "text/html", "image/png"}


def test_the_filter_follows_ipython() -> None:
    assert wanted("text/html", None, None) and wanted("text/html", [], [])
    assert not wanted("text/html", ["text/plain"], None) and not wanted("text/html", None, ["text/html"])
    assert mime_filter({"a": 1, "b": 2}, ["a", "b"], ["b"]) == {"a": 1}


def test_iamkit_objects_honour_include_and_exclude() -> None:
    # Feedback used to ignore both arguments.
    for shown in (evaluate(SCENARIO), check_prediction(SCENARIO, "allowed")):
        assert set(shown._repr_mimebundle_(include=["text/plain"])) == {"text/plain"}
        assert set(shown._repr_mimebundle_(exclude=["text/plain"])) == {"text/html"}
