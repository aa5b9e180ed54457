"""Case, outcome and campaign forms."""

from __future__ import annotations

import re
from datetime import date

from ..tracking.forms import CleanForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from . import photos
from .services import MAX_TARGET, TRANSLATION_LIMITS, CampaignInput, CaseInput, Photo, TranslationInput

TEXT_LIMIT = 20_000


def _date_in_range(field, earliest=date(2000, 1, 1), latest=date(2100, 12, 31)) -> None:
    if field.data and not earliest <= field.data <= latest:
        raise ValidationError(f"Enter a date between {earliest.year} and {latest.year}.")


class CaseForm(CleanForm):
    campaign_id = SelectField("Campaign", coerce=int, validators=[InputRequired(message="Choose a campaign.")])
    name = StringField("Name", validators=[DataRequired(message="Enter the name."), Length(max=200)])
    slug = StringField("Web address", validators=[DataRequired(message="Enter the web address."), Length(max=80)])
    country = StringField("Country", validators=[DataRequired(message="Enter the country."), Length(max=100)])
    summary = StringField("Summary", validators=[DataRequired(message="Enter a one-line summary."), Length(max=500)])
    story = TextAreaField("Their story", validators=[DataRequired(message="Tell their story."), Length(max=TEXT_LIMIT)])
    ask = StringField("The ask", validators=[DataRequired(message="Enter what the campaign asks for."), Length(max=500)])
    what_to_write = TextAreaField("What to write", validators=[Optional(), Length(max=TEXT_LIMIT)])
    authority_name = StringField("Appeals go to", validators=[Optional(), Length(max=200)])
    authority_address = TextAreaField("Their address", validators=[Optional(), Length(max=2000)])
    authority_address_is_placeholder = BooleanField("Address not confirmed yet (not shown publicly)")
    solidarity_name = StringField("Solidarity cards go to", validators=[Optional(), Length(max=200)])
    solidarity_address = TextAreaField("Their address", validators=[Optional(), Length(max=2000)])
    solidarity_address_is_placeholder = BooleanField("Address not confirmed yet (not shown publicly)")
    target = IntegerField("Target (cards)", default=0, validators=[InputRequired(message="Enter a target (0 for none)."),
                                                                     NumberRange(min=0, max=MAX_TARGET, message=f"Enter 0 to {MAX_TARGET:,}.")])
    position = IntegerField("Display order", default=0, validators=[InputRequired(message="Enter a number, e.g. 1."),
                                                                    NumberRange(min=-10_000, max=10_000, message="Enter -10,000 to 10,000.")])
    photo = FileField("Photo", render_kw={"accept": "image/jpeg,image/png,image/webp"})
    photo_alt = StringField("Photo description", validators=[Optional(), Length(max=300)])
    remove_photo = BooleanField("Remove the current photo")

    def set_campaigns(self, campaigns) -> None:
        self.campaign_id.choices = [SelectChoice(c.id, c.name) for c in campaigns]

    def validate_slug(self, field) -> None:
        field.data = (field.data or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", field.data):
            raise ValidationError("Use lower-case letters, digits and single hyphens, e.g. sonia-dahmani.")

    def validate_photo(self, field) -> None:
        self._photo = None
        upload = field.data
        if upload is None or not getattr(upload, "filename", None):
            return
        try:
            data, ext = photos.read(upload.stream)
        except photos.PhotoError as error:
            raise ValidationError(str(error)) from error
        self._photo = Photo(data, ext)

    def uploaded_photo(self) -> Photo | None:
        return getattr(self, "_photo", None)

    def to_input(self) -> CaseInput:
        text = lambda name: (self[name].data or "").strip()  # noqa: E731
        return CaseInput(
            campaign_id=self.campaign_id.data, slug=self.slug.data, name=text("name"), country=text("country"),
            summary=text("summary"), story=text("story"), ask=text("ask"), what_to_write=text("what_to_write"),
            authority_name=text("authority_name"), authority_address=text("authority_address"),
            authority_address_is_placeholder=bool(self.authority_address_is_placeholder.data) or not text("authority_address"),
            solidarity_name=text("solidarity_name"), solidarity_address=text("solidarity_address"),
            solidarity_address_is_placeholder=bool(self.solidarity_address_is_placeholder.data) or not text("solidarity_address"),
            target=self.target.data, position=self.position.data, photo_alt=text("photo_alt"),
        )


class CaseTranslationForm(CleanForm):
    """A case's public texts in French, Spanish or Arabic. Summary, ask and story are needed, like in
    English; leave the others empty to show the English text."""

    name = StringField("Name (if it is written differently)", validators=[Optional(), Length(max=TRANSLATION_LIMITS["name"])])
    country = StringField("Country", validators=[Optional(), Length(max=TRANSLATION_LIMITS["country"])])
    summary = StringField("Summary", validators=[DataRequired(message="Enter a one-line summary."), Length(max=TRANSLATION_LIMITS["summary"])])
    ask = StringField("The ask", validators=[DataRequired(message="Enter what the campaign asks for."), Length(max=TRANSLATION_LIMITS["ask"])])
    story = TextAreaField("Their story", validators=[DataRequired(message="Tell their story."), Length(max=TRANSLATION_LIMITS["story"])])
    what_to_write = TextAreaField("What to write", validators=[Optional(), Length(max=TRANSLATION_LIMITS["what_to_write"])])
    authority_name = StringField("Appeals go to", validators=[Optional(), Length(max=TRANSLATION_LIMITS["authority_name"])])
    solidarity_name = StringField("Solidarity cards go to", validators=[Optional(), Length(max=TRANSLATION_LIMITS["solidarity_name"])])
    photo_alt = StringField("Photo description", validators=[Optional(), Length(max=TRANSLATION_LIMITS["photo_alt"])])

    def to_input(self) -> TranslationInput:
        text = lambda name: (self[name].data or "").strip()  # noqa: E731
        return TranslationInput(**{name: text(name) for name in TRANSLATION_LIMITS})


class OutcomeForm(CleanForm):
    happened_on = DateField("Date", validators=[InputRequired(message="Enter the date.")], format="%Y-%m-%d", default=date.today)
    title = StringField("Title", validators=[DataRequired(message="Give the update a title."), Length(max=200)])
    body = TextAreaField("Details (optional)", validators=[Optional(), Length(max=5000)])

    def validate_happened_on(self, field) -> None:
        _date_in_range(field, latest=date.today())


class CampaignForm(CleanForm):
    name = StringField("Name", validators=[DataRequired(message="Enter the name."), Length(max=200)])
    slug = StringField("Short name", validators=[DataRequired(message="Enter a short name."), Length(max=80)])
    starts_on = DateField("Starts on", validators=[InputRequired(message="Enter the start date.")], format="%Y-%m-%d")
    ends_on = DateField("Ends on", validators=[InputRequired(message="Enter the end date.")], format="%Y-%m-%d")
    pack_sizes = StringField("Pack sizes", default="10, 25, 50", validators=[DataRequired(message="Enter at least one pack size."), Length(max=100)])

    def validate_slug(self, field) -> None:
        field.data = (field.data or "").strip().lower()
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", field.data):
            raise ValidationError("Use lower-case letters, digits and single hyphens, e.g. w4r-2026.")

    def validate_starts_on(self, field) -> None:
        _date_in_range(field)

    def validate_ends_on(self, field) -> None:
        _date_in_range(field)
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The campaign cannot end before it starts.")

    def validate_pack_sizes(self, field) -> None:
        self._sizes = []
        for piece in re.split(r"[\s,;]+", field.data or ""):
            if not piece:
                continue
            if not (piece.isascii() and piece.isdigit()) or not 1 <= int(piece) <= 1000:
                raise ValidationError("Pack sizes are whole numbers from 1 to 1,000, separated by commas.")
            if int(piece) not in self._sizes:
                self._sizes.append(int(piece))
        if not self._sizes:
            raise ValidationError("Enter at least one pack size.")
        if len(self._sizes) > 10:
            raise ValidationError("Offer at most 10 pack sizes.")

    def to_input(self) -> CampaignInput:
        return CampaignInput(slug=self.slug.data, name=self.name.data.strip(), starts_on=self.starts_on.data,
                             ends_on=self.ends_on.data, pack_sizes=sorted(getattr(self, "_sizes", [])))


class ActionForm(CleanForm):
    """CSRF only: backs plain action buttons."""
