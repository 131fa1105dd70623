"""The comment form: what a reader may send, and the messages when it is not right."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from blog.bounds import MAX_ROW_ID

NAME_MAX = 100
EMAIL_MAX = 254
URL_MAX = 500
BODY_MAX = 10_000
# A comment's length, posted or edited (validators keep no state: one serves both forms).
_BODY_LENGTH = Length(
    max=BODY_MAX, message=f"Comments are limited to {BODY_MAX:,} characters; please shorten yours."
)


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _web_address(value: str | None) -> str | None:
    """Read "example.org/me" as https://example.org/me; leave anything with a scheme as typed."""
    value = _strip(value)
    if value and "://" not in value and ":" not in value.split("/", 1)[0]:
        return "https://" + value
    return value


def _http_url(form: FlaskForm, field: StringField) -> None:
    """Refuse a website that is not a plain http(s) address (javascript:, data:, ...)."""
    if not field.data:
        return
    try:
        parts = urlsplit(field.data)
        hostname = parts.hostname  # reading it checks the port and [IPv6] brackets
        parts.port  # noqa: B018
    except ValueError:  # "Invalid IPv6 URL", "Port out of range": not an address either
        hostname = None
    if not hostname or parts.scheme.lower() not in ("http", "https") or " " in field.data:
        raise ValidationError(
            "Enter a web address that starts with http:// or https://, like https://example.org/."
        )


def _newlines(value: str | None) -> str | None:
    """Count a line break as one character, as the textarea's maxlength does."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _subscribe(value: str | None) -> str:
    """Keep "replies" or "all"; anything else (nothing, a value of another form) means none."""
    return value if value in ("replies", "all") else ""


def _parent_id(value: str | None) -> int | None:
    try:
        number = int(value) if value else None
    except (TypeError, ValueError):
        return None
    # An id no row can have (blog.bounds) is no comment's.
    return number if number is not None and 0 < number <= MAX_ROW_ID else None


class CommentForm(FlaskForm):
    author_name = StringField(
        "Name",
        id="comment-author-name",
        filters=[_strip],
        validators=[
            DataRequired("Please enter your name."),
            Length(
                max=NAME_MAX, message=f"Please shorten your name to {NAME_MAX} characters or fewer."
            ),
        ],
    )
    author_email = EmailField(
        "Email",
        id="comment-author-email",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=EMAIL_MAX, message=f"An email address has at most {EMAIL_MAX} characters."),
            Email("Enter an email address like name@example.org, or leave it empty."),
        ],
    )
    author_url = StringField(
        "Website",
        id="comment-author-url",
        filters=[_web_address],
        validators=[
            Optional(),
            Length(
                max=URL_MAX,
                message=f"Please shorten the web address to {URL_MAX} characters or fewer.",
            ),
            _http_url,
        ],
    )
    body = TextAreaField(
        "Comment",
        id="comment-body",
        filters=[_newlines],
        validators=[
            DataRequired("Please write a comment before sending it."),
            _BODY_LENGTH,
        ],
    )
    remember = BooleanField(
        "Remember my name, email and website on this browser", id="comment-remember"
    )
    # Mail about this discussion (blog.mail): the first mail to an address asks to confirm it.
    subscribe = RadioField(
        "Email me",
        id="comment-subscribe",
        choices=[
            SelectChoice("", "No email, thanks"),
            SelectChoice("replies", "Email me replies to my comment"),
            SelectChoice("all", "Email me every new comment on this post"),
        ],
        default="",
        filters=[_subscribe],
        validate_choice=False,
    )
    parent_id = HiddenField(filters=[_parent_id])
    # Spam defences (blog.comments.spam): a field people never see, and when the form was shown.
    subject = StringField(
        "Leave this field empty: it is a trap for robots", id="comment-subject", filters=[_strip]
    )
    issued = HiddenField(id="comment-issued")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.subscribe.data and not self.author_email.data and not self.author_email.errors:
            self.author_email.errors = [
                "Enter your email address to get comments by email, or choose “No email”."
            ]
            ok = False
        return ok


class EditCommentForm(FlaskForm):
    """One's own comment, changed or deleted within the edit window (blog.comments.views.edit)."""

    body = TextAreaField(
        "Your comment",
        filters=[_newlines],
        validators=[
            DataRequired("Write something, or delete the comment instead."),
            _BODY_LENGTH,
        ],
    )
    # Which button: "save" (the default) or "delete".
    action = HiddenField()

    @property
    def deleting(self) -> bool:
        return self.action.data == "delete"
