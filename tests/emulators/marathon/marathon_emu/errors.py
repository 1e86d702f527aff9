# See COPYING for copyright and license details.
"""Marathon's error answers: JSON bodies and Jetty's HTML error pages."""
import html
import json
from http import HTTPStatus


class ApiError(Exception):
    """An error answer with Marathon's status and JSON body (marathon.md §1.8)."""

    def __init__(self, status, body, headers=None):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.headers = headers or {}


def message(status, text):
    return ApiError(status, {"message": text})


def app_not_found(app_id, version=None):
    """RestResource.unknownApp."""
    suffix = " in version %s" % version if version else ""
    return message(404, "App '%s' does not exist%s" % (app_id, suffix))


def reason(status):
    return HTTPStatus(status).phrase


def jetty_page(status, uri, text=None):
    """Jetty 9.4 ErrorHandler page, as sendError() writes it (Marathon turns
    off the "Powered by" line with setSendServerVersion(false))."""
    text = html.escape(text or reason(status))
    return ("<html>\n<head>\n"
            '<meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>\n'
            "<title>Error %d %s</title>\n"
            "</head>\n<body><h2>HTTP ERROR %d</h2>\n"
            "<p>Problem accessing %s. Reason:\n<pre>    %s</pre></p>\n"
            "</body>\n</html>\n" % (status, text, status, html.escape(uri), text)
            ).encode("iso-8859-1", "replace")


JETTY_HEADERS = {"Content-Type": "text/html;charset=iso-8859-1",
                 "Cache-Control": "must-revalidate,no-cache,no-store"}


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()
