"""The sign-in of a real class: NativeAuthenticator, learners approved by the named admin."""

from __future__ import annotations

import pathlib
import tempfile
from typing import Iterator

import pytest
import requests

from .conftest import ARTIFACTS
from .hub import Hub


@pytest.fixture(scope="module")
def native_hub() -> Iterator[Hub]:
    with tempfile.TemporaryDirectory(prefix="iamkit-classroom-native-") as folder:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        hub = Hub(pathlib.Path(folder), ARTIFACTS / "jupyterhub-native.log", auth="native")
        hub.start()
        try:
            yield hub
        finally:
            left = hub.stop()
            assert not left, "left behind:\n" + "\n".join(left)


def form(hub: Hub, session: requests.Session, page: str, fields: dict[str, str]) -> requests.Response:
    session.get(f"{hub.url}/hub/{page}")
    return session.post(f"{hub.url}/hub/{page}", data={**fields, "_xsrf": session.cookies.get("_xsrf")})


def sign_up(hub: Hub, name: str, password: str) -> None:
    response = form(hub, requests.Session(), "signup",
                    {"username": name, "signup_password": password, "signup_password_confirmation": password})
    assert response.status_code == 200, f"signing up {name}: HTTP {response.status_code}"


def log_in(hub: Hub, name: str, password: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    return session, form(hub, session, "login", {"username": name, "password": password})


def test_a_learner_signs_in_only_once_the_admin_approves(native_hub: Hub) -> None:
    sign_up(native_hub, "instructor", "instructor-password-1")
    sign_up(native_hub, "ada", "ada-password-12345")
    _, refused = log_in(native_hub, "ada", "ada-password-12345")
    assert refused.url.endswith("/hub/login"), "a learner not yet approved stays on the login page"
    admin, response = log_in(native_hub, "instructor", "instructor-password-1")
    assert "/hub/login" not in response.url, "the named admin is approved from the start"
    area = admin.get(f"{native_hub.url}/hub/authorize")
    assert area.status_code == 200 and "ada" in area.text, "the admin sees the sign-up waiting"
    assert admin.get(f"{native_hub.url}/hub/authorize/ada").status_code == 200
    _, admitted = log_in(native_hub, "ada", "ada-password-12345")
    assert "/hub/login" not in admitted.url, f"ada, approved, is let in (at {admitted.url})"
    assert not native_hub.api("GET", "/users/ada")["admin"] and native_hub.api("GET", "/users/instructor")["admin"]


def test_a_short_password_is_refused(native_hub: Hub) -> None:
    response = form(native_hub, requests.Session(), "signup",
                    {"username": "grace", "signup_password": "short", "signup_password_confirmation": "short"})
    assert "at least 10" in response.text or "too short" in response.text.lower(), "the sign-up page says why"
    assert "grace" not in {user["name"] for user in native_hub.api("GET", "/users")}
