"""The back office's forms: one FlaskForm per form, every POST carrying its CSRF token."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from blog.admin.auth import password_problem
from blog.bounds import row_id
from blog.discussion import MODERATION_LABELS
from blog.models import WriterNotify, utcnow
from blog.webmention.parse import web_url


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def email_field(description: str) -> EmailField:
    return EmailField(
        "Email",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254, message="An email address has at most 254 characters."),
            Email("Enter an email address like name@example.org."),
        ],
        description=description,
    )


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Remember me on this computer")
    next = HiddenField()
    submit = SubmitField("Log in")


class SetupForm(FlaskForm):
    token = HiddenField()
    username = StringField(
        "Username",
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[\w.@+-]+$", message="Use letters, digits and . @ + - _ only, no spaces."),
        ],
        description="What you type to log in.",
    )
    display_name = StringField(
        "Display name",
        validators=[DataRequired(), Length(max=120)],
        description="Shown on your posts and replies.",
    )
    email = email_field(
        "Where the blog tells you about comments awaiting moderation. Optional: you can add "
        "it later, under Account."
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=1024)],
        description="At least 12 characters; a few unrelated words work well.",
    )
    confirm = PasswordField(
        "Password again",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
    submit = SubmitField("Create my account")

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self.username.data or "")
        if problem:
            raise ValidationError(problem)


def web_address(form: FlaskForm, field: StringField) -> None:
    """Accept only an absolute http(s) address (the editor's "In reply to")."""
    if field.data and not web_url(field.data):
        raise ValidationError("Enter a web address that starts with https:// or http://.")


def local_to_utc(value: datetime, zone: ZoneInfo) -> datetime | None:
    """Return a wall-clock time in zone as UTC; None when the clocks skip it (spring forward)."""
    aware = value.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != value:
        return None
    return aware.astimezone(UTC)


class EntryForm(FlaskForm):
    """What posts and pages share in the editor: text, address, and the save buttons."""

    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=200)],
        description="The last part of the post's address. Empty: made from the title.",
    )
    body = TextAreaField(
        "Text", validators=[Length(max=500_000)], description="Markdown. The preview follows."
    )
    excerpt = TextAreaField(
        "Excerpt",
        validators=[Length(max=1000)],
        description="Shown in listings and feeds. Empty: the first lines of the text.",
    )
    comments_open = BooleanField("Readers may comment", default=True)
    save_draft = SubmitField("Save draft")
    publish = SubmitField("Publish now")
    update = SubmitField("Update")
    unpublish = SubmitField("Unpublish")

    def action(self) -> str:
        """Return which button was pressed: publish, schedule, unpublish, update or draft."""
        for name in ("publish", "schedule", "unpublish", "update"):
            field = getattr(self, name, None)
            if field is not None and field.data:
                return name
        return "draft"

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        publishing = self.action() in ("publish", "schedule", "update")
        if publishing and not (self.body.data or "").strip():
            self.body.errors = [*self.body.errors, "Write something before publishing."]
            ok = False
        return ok


class PostForm(EntryForm):
    tags = StringField(
        "Tags", validators=[Length(max=500)], description="Separated by commas; new ones are made."
    )
    # Posts only: a page answers nobody's post (it is still sent webmentions for its links).
    in_reply_to = StringField(
        "In reply to",
        filters=[_strip],
        validators=[Optional(), Length(max=2000), web_address],
        description="The address of a post elsewhere that this one answers (it is told so).",
    )
    publish_at = DateTimeLocalField(
        "Publish on",
        validators=[Optional()],
        # The first format is the value written back: a browser's datetime-local input takes
        # only "2027-01-15T09:00" (WTForms' default, with a space, shows an empty box).
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        description="For “Schedule”: the date and time it goes public, on the blog's clock.",
    )
    schedule = SubmitField("Schedule")

    def __init__(self, *args, zone: ZoneInfo | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.zone = zone or ZoneInfo("UTC")
        # The writer schedules in the blog's time zone (Site settings), not in UTC.
        self.publish_at.label.text = f"Publish on ({self.zone.key})"

    def publish_at_utc(self) -> datetime | None:
        value = self.publish_at.data
        return local_to_utc(value, self.zone) if value else None

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.action() == "schedule":
            when = self.publish_at_utc()
            if self.publish_at.data is None:
                problem = "Give the date and time to publish on."
            elif when is None:
                problem = (
                    f"The clocks skip that time in {self.zone.key} (they go forward): "
                    "choose another."
                )
            elif when <= utcnow():
                problem = "That time has passed: choose a later one, or press “Publish now”."
            else:
                problem = ""
            if problem:
                self.publish_at.errors = [*self.publish_at.errors, problem]
                ok = False
        return ok


class PageForm(EntryForm):
    slug = StringField(
        "Slug",
        validators=[Optional(), Length(max=200)],
        description="The page's address: /slug/. Empty: made from the title.",
    )
    excerpt = TextAreaField(
        "Description",
        validators=[Length(max=1000)],
        description="Shown by search engines and in shared links. Empty: the first lines.",
    )
    comments_open = BooleanField("Readers may comment", default=False)
    nav_order = IntegerField(
        "Place in the navigation",
        validators=[Optional(), NumberRange(min=-1000, max=1000)],
        description="Pages are listed in the site's navigation lowest number first. "
        "Empty: not listed (the page is still at its address).",
    )


class SiteForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired(), Length(max=120)], description="The blog's name."
    )
    tagline = StringField(
        "Tagline",
        validators=[Length(max=300)],
        description="A line under the title; also the home page's description for search engines.",
    )
    language = StringField(
        "Language",
        validators=[
            DataRequired(),
            Length(max=35),
            Regexp(
                r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                message="A language tag like en, fr, de-CH or pt-BR.",
            ),
        ],
        description="The language the blog is written in, as a tag (en, fr, de-CH): "
        "for browsers, screen readers and feed readers.",
    )
    author_name = StringField(
        "Author name shown",
        validators=[Length(max=120)],
        description="Shown as the author of every post, in feeds and in shared links. "
        "Empty: each post's author's display name.",
    )
    timezone = SelectField(
        "Time zone",
        validators=[InputRequired()],
        description="Dates on pages, monthly archives and post addresses, and the times you "
        "schedule posts for, are on this clock. Feeds give exact times with their offset.",
    )
    submit = SubmitField("Save settings")

    def __init__(self, *args, zones: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice(zone, zone.replace("_", " ")) for zone in zones]


class PreviewForm(FlaskForm):
    body = TextAreaField(validators=[Length(max=500_000)])


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for button-only POSTs."""


class BulkForm(FlaskForm):
    # row_id: an id no row can have (beyond 64 bits) is refused here, not by the database.
    ids = SelectMultipleField("Selected comments", coerce=row_id, validate_choice=False)
    action = SelectField(
        "With the selected comments",
        choices=[
            SelectChoice("approve", "Approve"),
            SelectChoice("spam", "Mark as spam"),
            SelectChoice("delete", "Delete"),
        ],
    )
    submit = SubmitField("Apply")

    def validate_ids(self, field: SelectMultipleField) -> None:
        if not field.data:
            raise ValidationError("Select at least one comment.")


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Your reply", validators=[DataRequired(message="Write a reply."), Length(max=10_000)]
    )
    submit = SubmitField("Reply")


class CommentTextForm(FlaskForm):
    """The writer's change to any comment's text (kept in the comment's own format)."""

    body = TextAreaField(
        "Comment",
        validators=[
            DataRequired(message="A comment needs some text; delete it instead."),
            Length(max=10_000),
        ],
        description="Saved as written: Markdown for comments posted with it, else plain text.",
    )
    submit = SubmitField("Save")


class DiscussionForm(FlaskForm):
    moderation = RadioField(
        "New comments",
        choices=[SelectChoice(str(k), v) for k, v in MODERATION_LABELS.items()],
        validators=[InputRequired()],
    )
    close_after_days = IntegerField(
        "Close comments on posts older than (days)",
        validators=[InputRequired(), NumberRange(min=0, max=36_500)],
        description="0 keeps them open for ever.",
    )
    max_links = IntegerField(
        "Hold comments with more links than",
        validators=[InputRequired(), NumberRange(min=0, max=100)],
        description="Spam is mostly links; 2 lets a normal reply through.",
    )
    blocklist = TextAreaField(
        "Blocklist",
        validators=[Length(max=50_000)],
        description=(
            "One per line: a word or phrase, an email or @domain, an IP or network "
            "(203.0.113.0/24). Matching comments go to spam."
        ),
    )
    honeypot = BooleanField(
        "Send comments that fill in the hidden robot trap to spam",
        description="An extra field readers never see; form-filling robots fill it in.",
    )
    min_seconds = IntegerField(
        "Send comments written faster than this to spam (seconds)",
        validators=[InputRequired(), NumberRange(min=0, max=3600)],
        description=(
            "Counted from when the form was shown; no person writes in 3 s. 0 turns it off."
        ),
    )
    flood_seconds = IntegerField(
        "At most one comment per address every (seconds)",
        validators=[InputRequired(), NumberRange(min=0, max=86_400)],
        description="A faster reader is asked to wait and keeps the text. 0 turns it off.",
    )
    hourly_limit = IntegerField(
        "At most this many comments per address an hour",
        validators=[InputRequired(), NumberRange(min=0, max=10_000)],
        description="0 turns it off.",
    )
    refuse_duplicates = BooleanField(
        "Refuse the same comment twice on a post from the same person within a day",
    )
    edit_minutes = IntegerField(
        "Readers may edit or delete their comment for (minutes)",
        # Left empty (or sent by a form from before it existed): the setting stays as it is.
        validators=[Optional(), NumberRange(min=0, max=10_080)],
        description=(
            "After posting, from the same browser only; you can always edit or delete any "
            "comment here. 0 turns it off."
        ),
    )
    submit = SubmitField("Save settings")


NOTIFY_LABELS = {
    WriterNotify.HELD: "Only comments awaiting moderation",
    WriterNotify.EACH: "Every new comment, one mail each (and those awaiting moderation)",
    WriterNotify.DAILY: "Comments awaiting moderation at once, and a digest of the day's comments",
    WriterNotify.NONE: "No mail about comments",
}


class AccountForm(FlaskForm):
    email = email_field(
        "A new address gets a mail with a link; it is used once you follow the link. "
        "Empty: no mail at all."
    )
    notify = RadioField(
        "Mail me about",
        choices=[SelectChoice(str(k), v) for k, v in NOTIFY_LABELS.items()],
        validators=[InputRequired()],
    )
    submit = SubmitField("Save")


class SelectedForm(FlaskForm):
    """Rows ticked in a back office table (subscribers to remove, jobs to retry)."""

    ids = SelectMultipleField("Selected", coerce=int, validate_choice=False)

    def validate_ids(self, field: SelectMultipleField) -> None:
        if not field.data:
            raise ValidationError("Select at least one row.")
