"""moto_server with DynamoDB requests handled one at a time.

moto's DynamoDB backend is not thread-safe: moto_server answers each
request on its own thread, and two requests writing the same table at once
can fail with "dictionary changed size during iteration" (a 500) after one
of them was applied. The SDK retries the 500, the retry finds its own
write, and a test sees "already exists" or a counter counted twice.
DynamoDB serialises writes per item; this launcher gives moto the same
guarantee by taking one lock around every DynamoDB and DynamoDB Streams
request (whole response included). Other services keep their threads.
moto is single-core under Python's GIL anyway, so the lock costs little.
It also honours TransactWriteItems' ClientRequestToken, as DynamoDB does
(below).

Usage: python3 moto_serial.py [moto_server arguments], e.g. -H 127.0.0.1 -p 4566
"""
import io
import json
import sys
import threading
import time

from moto import server
from moto.moto_server import werkzeug_app

_lock = threading.Lock()
_call = werkzeug_app.DomainDispatcherApplication.__call__

# TransactWriteItems is idempotent by ClientRequestToken on DynamoDB for
# 10 minutes: a retry with the same token gets the first answer and
# changes nothing. The SDK fills the token in once per call and keeps it
# across its retries; moto ignores it, so a retry after a lost answer
# would run the transaction again and fail its own conditions. Answers of
# successful transactions are kept here by token.
_TOKEN_TTL = 600.0
_answers = {}  # token -> (expires, status, headers, body)


def _transact(self, environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(size) if size > 0 else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        token = json.loads(raw or b"{}").get("ClientRequestToken")
    except ValueError:
        token = None
    now = time.monotonic()
    for k in [k for k, v in _answers.items() if v[0] < now]:
        del _answers[k]
    if token and token in _answers:
        _, status, headers, body = _answers[token]
        start_response(status, headers)
        return [body]
    seen = {}

    def capture(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, list(headers)
        return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

    body = b"".join(_call(self, environ, capture))
    if token and seen.get("status", "").startswith("200"):
        _answers[token] = (now + _TOKEN_TTL, seen["status"], seen["headers"], body)
    return [body]


def _serial_call(self, environ, start_response):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target.startswith(("DynamoDB_", "DynamoDBStreams_")):
        with _lock:
            if target.endswith(".TransactWriteItems"):
                return _transact(self, environ, start_response)
            return list(_call(self, environ, start_response))
    return _call(self, environ, start_response)


werkzeug_app.DomainDispatcherApplication.__call__ = _serial_call

if __name__ == "__main__":
    server.main(sys.argv[1:])
