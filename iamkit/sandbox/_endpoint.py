"""moto's HTTP server as the sandbox runs it: quiet, with AWS-shaped errors, failing loudly.

moto answers an action it does not implement with an HTML page and status 500, which boto3
and the ``aws`` command retry four times before printing a traceback; :class:`AwsErrors`
turns that, and any crash, into the error response the AWS tools parse (``NotImplemented``,
status 501, not retried). :func:`server_class` is ``moto.server.ThreadedMotoServer`` with that
middleware, no request log, and an ``error`` attribute instead of werkzeug's ``sys.exit(1)``
when the port cannot be bound. moto is imported when the class is made, not before.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

__all__ = ["AwsErrors", "server_class"]


def _aws_error(environ: Mapping[str, Any], status: str, code: str, message: str,
               start_response: Callable[..., Any]) -> list[bytes]:
    """An error response boto3 and the aws command parse: JSON or query-protocol XML."""
    content_type = str(environ.get("CONTENT_TYPE", ""))
    if not content_type.startswith("application/x-www-form-urlencoded"):  # IAM and STS speak the query protocol
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    else:
        from xml.sax.saxutils import escape

        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>iamkit-sandbox</RequestId>"
                "</ErrorResponse>").encode()
        headers = [("Content-Type", "text/xml")]
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]


class AwsErrors:
    """WSGI middleware: moto's unimplemented actions and crashes become AWS-shaped errors.

    Without it, an unimplemented action is an HTML page with status 500, which clients
    retry four times, and a traceback on the notebook's standard error.
    """

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        try:
            return self.app(environ, start_response)
        except NotImplementedError as exc:
            text = str(exc)
            action = text.split("The ", 1)[-1].split(" action", 1)[0] if " action" in text else text
            message = f"the local sandbox (moto) does not implement `{action}`"
            if action in ("simulate_custom_policy", "simulate_principal_policy"):
                message += f"; iamkit.{action}(...) answers the same request offline"
            return _aws_error(environ, "501 Not Implemented", "NotImplemented", message, start_response)
        except Exception as exc:  # a server must answer, not die
            message = f"the local sandbox (moto) failed: {type(exc).__name__}: {exc}"
            if isinstance(exc, AttributeError) and "NoneType" in str(exc):  # moto found no backend for the host
                message = "the local sandbox (moto) does not provide this AWS service"
            return _aws_error(environ, "501 Not Implemented", "NotImplemented", message, start_response)


def server_class() -> type:
    """ThreadedMotoServer, quiet, with AWS-shaped errors, and failing loudly instead of hanging."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    class QuietHandler(MotoRequestHandler):  # type: ignore[misc, valid-type]
        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
            return None

    class Server(ThreadedMotoServer):  # type: ignore[misc, valid-type]
        error: BaseException | None = None

        def _server_entry(self) -> None:
            try:
                app = AwsErrors(DomainDispatcherApplication(create_backend_app))
                self._server = make_server(self._ip_address, self._port, app, True, request_handler=QuietHandler)
            except BaseException as exc:  # werkzeug calls sys.exit(1) when it cannot bind
                self.error = exc
                self._server_ready_event.set()
                return
            self._server_ready_event.set()
            self._server.serve_forever()

    return Server
