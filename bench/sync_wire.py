"""An httpx transport that counts the bytes of each exchange as HTTP/1.1 puts them on the wire: request line,
headers and body as httpx hands them to the connection; status line, headers and body as received, before any
decoding. (h11 writes `name: value\\r\\n` per header and a blank line after them; no chunked framing here, every
body of the sync has a Content-Length.) Checked against a TCP relay counting the socket's bytes: the same figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx


@dataclass
class Exchange:
    method: str
    target: str
    status: int
    up: int  # bytes sent: request line, headers, body
    down: int  # bytes received: status line, headers, body
    body: bytes  # the request body as sent


def head_size(first_line: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    return len(first_line) + 2 + sum(len(k) + 2 + len(v) + 2 for k, v in headers) + 2


class Wire(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path
        up = head_size(b"%s %s HTTP/1.1" % (request.method.encode(), target), request.headers.raw) + len(body)
        response = await self.inner.handle_async_request(request)
        version = response.extensions.get("http_version", b"HTTP/1.1")
        reason = response.extensions.get("reason_phrase", b"")
        exchange = Exchange(request.method, target.decode(), response.status_code, up,
                            head_size(b"%s %d %s" % (version, response.status_code, reason), response.headers.raw),
                            body)
        self.exchanges.append(exchange)
        return httpx.Response(response.status_code, headers=response.headers, extensions=response.extensions,
                              stream=_Counted(response.stream, exchange))

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Counted(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, exchange: Exchange):
        self.stream, self.exchange = stream, exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.exchange.down += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.stream.aclose()
