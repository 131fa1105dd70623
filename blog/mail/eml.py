"""A Flask-Mailman backend that writes each message to MAIL_FILE_PATH as an .eml file.

Used when no MAIL_SERVER is configured (a fresh `make run`): every mail the blog would send can
be opened in a mail client, and the links in it followed. Flask-Mailman's own "file" backend
appends all messages of a connection to one .log file instead.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

from flask_mailman.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def __init__(self, *args, file_path: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.directory = Path(file_path or self.mailman.file_path)

    def send_messages(self, email_messages) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            if not message.recipients():
                continue
            data = message.message().as_bytes()
            path = self.directory / _file_name(message.extra_headers.get("Message-ID", ""))
            partial = path.with_suffix(".partial")
            partial.write_bytes(data)
            os.replace(partial, path)  # a reader of the folder never sees half a message
            written += 1
        return written


def _file_name(message_id: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    local = re.sub(r"[^A-Za-z0-9._-]+", "-", message_id.strip("<>").split("@")[0])[:80]
    return f"{stamp}-{local or 'message'}.eml"
