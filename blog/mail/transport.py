"""Handing messages to the mail server (or the .eml folder), one open connection per thread.

Flask-Mailman rather than Flask-Mail: the same MAIL_* keys, and also MAIL_TIMEOUT (Flask-Mail
opens smtplib.SMTP without a timeout, so a server that stops answering would hang a worker
thread for good), a check for CR/LF in every header (Flask-Mail checks only some), and
pluggable backends, which is how .eml files replace SMTP when no server is configured.

A worker thread keeps its SMTP connection open between messages (no new TCP and TLS handshake
and login per mail); a connection the server dropped while idle is reopened once.
"""

from __future__ import annotations

import smtplib
import threading
from pathlib import Path

from flask import Flask, current_app
from flask_mailman import EmailMessage

from blog.extensions import mail
from blog.jobs.registry import PermanentError

EML_BACKEND = "blog.mail.eml.EmailBackend"


class Deferred(Exception):  # noqa: N818 (the server's own word for a 4xx: try later)
    """The server turned this recipient or message away for now (4xx); the connection is fine."""


_local = threading.local()


def init_app(app: Flask) -> None:
    """SMTP when MAIL_SERVER is set, else .eml files in MAIL_FILE_PATH (instance/mail/)."""
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = "smtp" if app.config.get("MAIL_SERVER") else EML_BACKEND
    app.config.setdefault("MAIL_FILE_PATH", str(Path(app.instance_path) / "mail"))
    mail.init_app(app)


def destination() -> str:
    """Say where mail goes, for the worker's first lines (and what stops it)."""
    config = current_app.config
    warning = (
        ""
        if config.get("SERVER_NAME")
        else "\nMail: SERVER_NAME is not set (BLOG_SERVER_NAME=blog.example.org): mails cannot "
        "link to the blog, so they fail until it is set."
    )
    if config["MAIL_BACKEND"] == EML_BACKEND:
        return (
            "Mail: no MAIL_SERVER is configured, so every message is written to "
            f"{config['MAIL_FILE_PATH']}/*.eml instead of being sent." + warning
        )
    security = (
        " (TLS)" if config.get("MAIL_USE_TLS") else " (SSL)" if config.get("MAIL_USE_SSL") else ""
    )
    return f"Mail: sent through {config['MAIL_SERVER']}:{config['MAIL_PORT']}{security}." + warning


def _backend():
    backends = getattr(_local, "backends", None)
    if backends is None:
        backends = _local.backends = {}
    app = current_app._get_current_object()
    backend = backends.get(id(app))
    if backend is None:
        backend = backends[id(app)] = mail.get_connection()
    return backend


def _close(backend) -> None:
    try:
        backend.close()
    except Exception:  # a broken connection is dropped either way
        backend.connection = None


def send(message: EmailMessage) -> None:
    """Hand message to the server and return once it accepted it; raise otherwise.

    PermanentError when the server refuses the recipient or the message for good (5xx):
    trying again would only be refused again.
    """
    backend = _backend()
    for attempt in (1, 2):
        reused = bool(getattr(backend, "connection", None))
        try:
            backend.open()
            if backend.send_messages([message]) != 1:
                raise RuntimeError("the mail backend did not accept the message")
            return
        except smtplib.SMTPServerDisconnected:
            _close(backend)
            if reused and attempt == 1:
                continue  # the server closed an idle connection: open a new one, once
            raise
        except smtplib.SMTPRecipientsRefused as error:
            _close(backend)
            refusals = "; ".join(
                f"{code} {_text(reply)}" for code, reply in error.recipients.values()
            )
            codes = [code for code, _reply in error.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                raise PermanentError(f"The mail server refused the address: {refusals}") from None
            raise Deferred(f"The mail server refused the address for now: {refusals}") from None
        except smtplib.SMTPDataError as error:
            _close(backend)
            reply = f"{error.smtp_code} {_text(error.smtp_error)}"
            if error.smtp_code >= 500:
                raise PermanentError(f"The mail server refused the message: {reply}") from None
            raise Deferred(f"The mail server refused the message for now: {reply}") from None
        except smtplib.SMTPException as error:  # sender refused, login failed...
            _close(backend)
            raise RuntimeError(f"The mail server answered: {error}") from None
        except OSError as error:  # refused, unreachable, timed out, TLS; a full disk
            _close(backend)
            if hasattr(backend, "host"):
                where = f"reach the mail server {backend.host}:{backend.port}"
            else:
                where = f"write the mail to {current_app.config['MAIL_FILE_PATH']}"
            raise ConnectionError(f"Could not {where}: {error}") from None
        except Exception:
            _close(backend)
            raise


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def close() -> None:
    """Close this thread's connections to the mail server (a worker thread stopping)."""
    for backend in getattr(_local, "backends", {}).values():
        _close(backend)
    _local.backends = {}
