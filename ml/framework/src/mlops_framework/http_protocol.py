"""uvicorn's h11 protocol, answering a request it cannot parse so that the client can read the answer.

uvicorn answers a request h11 rejects (malformed, or a request line and headers over
`h11_max_incomplete_event_size`, 16 KiB by default: a 1 MB URL, say) with a 400 and closes the
socket at once (`H11Protocol.send_400_response`, uvicorn/protocols/http/h11_impl.py). The client is
usually still sending, so the kernel resets the connection and the client never reads the 400.
Here the same 400 is sent, then the write side is shut (FIN), and whatever the client still sends
is read and dropped for at most DRAIN_SECONDS before the socket is closed ("lingering close").
Selected with `uvicorn.Config(http=DrainingH11Protocol)`, uvicorn's own extension point.
"""

from __future__ import annotations

import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

DRAIN_SECONDS = 2.0
INVALID_REQUEST = {
    "error_code": "BAD_REQUEST",
    "message": "invalid HTTP request: malformed, or its request line and headers are over 16 KiB",
}


class DrainingH11Protocol(H11Protocol):
    _draining = False

    def send_400_response(self, msg: str) -> None:
        self.logger.warning("%s", msg)
        body = json.dumps(INVALID_REQUEST).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        response = h11.Response(status_code=400, headers=headers, reason=b"Bad Request")
        for event in (response, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self._draining = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(DRAIN_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._draining:
            return  # the rest of a request already answered with a 400
        super().data_received(data)
