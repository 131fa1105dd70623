"""Composing a mail: subject, plain text and HTML parts, and the headers every mail carries.

Everything a reader typed reaches a header only through header_text(), which turns every line
break and control character into a space: a name like "Ada\\r\\nBcc: x@y" stays one line of a
Subject. (Flask-Mailman would refuse such a header anyway; this keeps the mail instead.) The
HTML part shows comments as their stored, sanitized HTML, as the page does; the text part is
made from that same HTML.

Links are absolute, built with url_for outside any request: they need SERVER_NAME (and
PREFERRED_URL_SCHEME), which `make run` sets and production must.
"""

from __future__ import annotations

import email.policy
import re
import secrets
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any
from urllib.parse import quote

import lxml.html
from flask import current_app, render_template
from flask_mailman import EmailMultiAlternatives

from blog.mail.models import MailMessage
from blog.models import Post, utcnow
from blog.site import site

_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_IP = re.compile(r"^[\d.]+$|:")


class NotConfigured(RuntimeError):
    """The site's address is missing: mails could not link back to it."""


def header_text(value: str, limit: int = 150) -> str:
    """Return value as one line fit for a header: whitespace and control characters collapsed."""
    text = _UNSAFE.sub(" ", value or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def site_host() -> str:
    """Return the site's host name (SERVER_NAME without its port)."""
    server = current_app.config.get("SERVER_NAME")
    if not server:
        raise NotConfigured(
            "SERVER_NAME is not set (BLOG_SERVER_NAME=blog.example.org): mails need the "
            "blog's address for their links. Set it, restart the worker, then retry."
        )
    return server.rsplit(":", 1)[0] if not server.endswith("]") else server


def mail_domain() -> str:
    """The domain of Message-IDs and of the default sender: the site's host, or localhost."""
    host = site_host()
    return "localhost" if _IP.search(host) or "." not in host else host


def sender() -> str:
    configured = current_app.config.get("MAIL_DEFAULT_SENDER")
    if configured:
        return configured
    return formataddr((header_text(site().title), f"blog@{mail_domain()}"))


def sender_address() -> str:
    return parseaddr(sender())[1]


def new_message_id(kind: str) -> str:
    """A fresh Message-ID; a retried mail keeps the one its row was given."""
    stamp = int(utcnow().timestamp())
    return f"<{kind}.{stamp}.{secrets.token_hex(6)}@{mail_domain()}>"


def thread_id(post: Post) -> str:
    """The Message-ID every mail about post answers, so mail clients show one conversation."""
    created = int(post.created_at.timestamp())
    return f"<post-{post.id}.{created}@{mail_domain()}>"


def thread_headers(post: Post) -> dict[str, str]:
    root = thread_id(post)
    return {"In-Reply-To": root, "References": root}


def list_headers(unsubscribe_url: str, token: str) -> dict[str, str]:
    """The headers of a mail a reader can leave: List-Unsubscribe (RFC 2369) with one-click
    POST (RFC 8058), and the marks of automatic mail (no vacation replies, RFC 3834)."""
    mailto = current_app.config.get("MAIL_UNSUBSCRIBE_ADDRESS") or sender_address()
    subject = quote(f"unsubscribe {token}")
    return {
        "List-Id": f"{header_text(site().title)} <comments.{mail_domain()}>",
        "List-Unsubscribe": f"<{unsubscribe_url}>, <mailto:{mailto}?subject={subject}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "Precedence": "list",
        "X-Auto-Response-Suppress": "All",
    }


def render(template: str, **context: Any) -> tuple[str, str]:
    """Render mail/<template>.txt and .html: the plain text and HTML parts."""
    text = render_template(f"mail/{template}.txt", **context)
    html = render_template(f"mail/{template}.html", **context)
    return text.strip() + "\n", html


def fill(
    row: MailMessage, subject: str, template: str, headers: dict[str, str], **context: Any
) -> None:
    """Compose row: its subject, both parts and its headers (Date fixed now)."""
    row.subject = header_text(subject, 200)
    row.text_body, row.html_body = render(template, subject=row.subject, **context)
    row.headers = {"Date": format_datetime(utcnow()), **headers}


# Lines up to RFC 5322's limit of 998: a List-Unsubscribe with two long links stays one line
# (folding it at the usual 78 would cut a link, or turn it into an encoded-word that mail
# clients do not decode there), and a subject is not pushed to a continuation line.
_POLICY = email.policy.compat32.clone(max_line_length=998)


class _Message(EmailMultiAlternatives):
    def message(self):
        message = super().message()
        message.policy = _POLICY
        return message


def email_message(row: MailMessage) -> EmailMultiAlternatives:
    """Build the message Flask-Mailman sends: the same Message-ID on every attempt."""
    message = _Message(
        subject=row.subject,
        body=row.text_body,
        from_email=sender(),
        to=[row.to_address],
        headers={"Message-ID": row.message_id, **row.headers},
    )
    message.attach_alternative(row.html_body, "text/html")
    return message


def text_of(html: str) -> str:
    """Turn a comment's sanitized HTML into plain text: paragraphs, line breaks, quotes, links."""
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "").lstrip("\n")
    for link in root.iter("a"):
        href = link.get("href", "")
        label = link.text_content().strip()
        if href and href.removeprefix("mailto:").split("://")[-1] != label.split("://")[-1]:
            link.tail = f" <{href}>" + (link.tail or "")
    for block in root.iter("p", "blockquote"):
        block.tail = "\n\n" + (block.tail or "")
    # Innermost quotes first, so a quote in a quote reads "> > ".
    for quote_ in reversed(list(root.iter("blockquote"))):
        lines = quote_.text_content().strip().split("\n")
        for child in list(quote_):
            quote_.remove(child)
        quote_.text = "\n".join(("> " + line.strip()).rstrip() for line in lines)
    lines = [line.strip() for line in root.text_content().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
