"""The forms of the reader's subscription pages (each POST carries its CSRF token, but the
one-click unsubscribe, which RFC 8058 says arrives without cookies)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField
from wtforms.validators import Optional


class ConfirmForm(FlaskForm):
    """The confirmation page's one button."""


class ManageForm(FlaskForm):
    # The subscription a "Stop" button ends, or every one of them.
    remove = IntegerField(validators=[Optional()])
    everything = BooleanField()
