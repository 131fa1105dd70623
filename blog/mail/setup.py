"""Wire mail into the app: the transport, and the job kinds and periodic tasks of blog.jobs."""

from __future__ import annotations

from flask import Flask

from blog.jobs import registry
from blog.mail import delivery, fanout, transport


def init_app(app: Flask) -> None:
    transport.init_app(app)
    registry.register("mail.comment", fanout.comment_published, delivery.describe)
    registry.register("mail.held", fanout.comment_held, delivery.describe)
    registry.register("mail.confirm", fanout.confirmation, delivery.describe)
    registry.register("mail.email_change", fanout.new_email, delivery.describe)
    registry.register("mail.daily", fanout.daily_digest, delivery.describe)
    registry.register("mail.send", delivery.send, delivery.describe)
    registry.register("mail.digest", delivery.digest, delivery.describe)
    registry.register_periodic(
        "mail.daily_digests",
        fanout.record_daily_digests,
        minute="0",
        hour=str(int(app.config["MAIL_DIGEST_HOUR"]) % 24),
    )
    registry.register_periodic("mail.prune", delivery.prune, minute="37", hour="3")
    registry.register_startup_note("mail", transport.destination)
    registry.register_cleanup("mail", transport.close)
