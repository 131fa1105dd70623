"""A real SMTP server for the tests: aiosmtpd on a free loopback port, in a thread.

It keeps every message it accepts, parsed with the standard email package, and lets a test
wait for them (no sleeping), refuse recipients (550) or hold one message (the worker-crash
test decides what the server answers while a worker waits for it).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage

    def __getitem__(self, header: str) -> str | None:
        return self.message[header]

    @property
    def to(self) -> str:
        return self.rcpt_tos[0]

    def part(self, subtype: str) -> str:
        """The text of the text/<subtype> part (plain or html)."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None and body.get_content_subtype() == subtype, subtype
        return body.get_content()


class _Handler:
    def __init__(self, server: SMTPServer) -> None:
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.lower() in self.server.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        gate = self.server.gate
        if gate is not None:
            reply = await asyncio.to_thread(gate, envelope)
            if reply is not None:
                return reply
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server._accept(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, message)
        )
        return "250 Message accepted for delivery"


class SMTPServer:
    """An SMTP server on 127.0.0.1:port keeping what it accepts in .messages."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[Received] = []
        self.refused: set[str] = set()
        # Called (in a thread) with each envelope before it is accepted; returning a reply
        # ("451 ...") refuses it instead. Lets a test hold the server's answer.
        self.gate: Callable[[object], str | None] | None = None
        self._changed = threading.Condition()
        self._controller: Controller | None = None

    def start(self) -> SMTPServer:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _accept(self, received: Received) -> None:
        with self._changed:
            self.messages.append(received)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Wait until the server holds at least count messages; return them all."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(
                    f"waited {timeout} s for {count} messages, got {len(self.messages)}"
                )
            return list(self.messages)

    def config(self) -> dict:
        """The blog's settings that send mail here."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_TIMEOUT": 10}
