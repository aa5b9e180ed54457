"""Translation hygiene: no untranslated text in the public templates, catalogues up to date with the
code, every message translated, and the committed .mo files compiled from the .po files."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRANSLATIONS = ROOT / "app" / "translations"
LANGUAGES = ("fr", "es", "ar")

# Every template the public sees (staff templates stay English for now).
PUBLIC_TEMPLATES = (
    "base.html",
    "public/home.html", "public/case.html", "public/no_campaign.html", "public/_case_cards.html",
    "public/_case_photo.html", "public/_case_totals.html", "public/_progress.html",
    "reports/pack.html", "reports/_report_form.html", "reports/_thanks.html", "reports/enter_code.html",
    "reports/pack_not_found.html",
    "errors/404.html", "errors/500.html", "errors/error.html",
)
VISIBLE_ATTRIBUTES = {"aria-label", "alt", "title", "placeholder", "data-msg-busy", "data-msg-server",
                      "data-msg-failed", "data-msg-offline"}
HOLE = "\x00"  # where a {{ … }} or {% … %} was: its text comes from code, not from the template
LETTER = re.compile(r"[^\W\d_]")


class _VisibleText(HTMLParser):
    """Text nodes and people-facing attribute values, outside <script> and <style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value:
                self.found.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.found.append(data)


def _raw_text(source: str) -> list[str]:
    """The template's own words: its HTML with every Jinja tag replaced by a hole."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    html = []
    for _, kind, value in env.lex(source):
        if kind == "data":
            html.append(value)
        elif kind in ("variable_begin", "block_begin"):
            html.append(f" {HOLE} ")  # spaced: `<p{{ attrs }}>` must still parse as a tag
    parser = _VisibleText()
    parser.feed("".join(html))
    parser.close()
    return [" ".join(t.replace(HOLE, " ").split()) for t in parser.found if LETTER.search(t.replace(HOLE, ""))]


def _phrases_in_expressions(source: str) -> list[str]:
    """String literals that look like prose (contain a space) inside {{ … }}, except markup."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    phrases, in_output = [], False
    for _, kind, value in env.lex(source):
        if kind == "variable_begin":
            in_output = True
        elif kind == "variable_end":
            in_output = False
        elif in_output and kind == "string" and " " in value.strip("'\"") and not value.strip("'\"").startswith("<"):
            phrases.append(value[1:-1])
    return phrases


@pytest.mark.parametrize("name", PUBLIC_TEMPLATES)
def test_public_templates_mark_every_visible_string(name):
    source = (TEMPLATES / name).read_text(encoding="utf-8")
    assert _raw_text(source) == [], f"{name}: wrap these in {{{{ _('…') }}}}"
    msgids = _extract_msgids()
    loose = [p for p in _phrases_in_expressions(source) if p not in msgids]
    assert loose == [], f"{name}: string literals shown to people but not marked for translation"


def test_the_checker_finds_unmarked_text():
    assert _raw_text('<p class="x">Hello {{ name }}</p><img alt="A photo">{# note #}<script>var a = "b";</script>') == [
        "Hello", "A photo"]
    assert _raw_text("<p>{{ _('Hello') }} · {{ n }} – 42%</p><p{{ attrs }}>{{ x }}</p>") == []
    assert _phrases_in_expressions("{{ case.name or 'The authorities' }}{{ _('Fine words') }}") == [
        "The authorities", "Fine words"]


# --- Catalogues -----------------------------------------------------------------------------------------------

_CACHE: dict[str, object] = {}


def _extract(tmp_dir: Path) -> Path:
    pot = tmp_dir / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "lazy_gettext", "-k", "_l",
        "--no-location", "--omit-header", "-o", str(pot), str(ROOT),
    ])
    return pot


def _extract_msgids() -> set:
    if "ids" not in _CACHE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            with open(_extract(Path(tmp)), "rb") as handle:
                template = read_po(handle)
        ids = set()
        for message in template:
            if message.id:
                ids.update(message.id if isinstance(message.id, tuple) else (message.id,))
        _CACHE["ids"] = ids
        _CACHE["keys"] = {m.id for m in template if m.id}
    return _CACHE["ids"]


def _catalogue(lang: str):
    with open(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=lang)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_catalogue_has_exactly_the_messages_in_the_code(lang):
    _extract_msgids()
    expected = _CACHE["keys"]
    actual = {m.id for m in _catalogue(lang) if m.id}
    assert sorted(map(str, expected - actual)) == [], f"missing from {lang}: run `make translations` and translate"
    assert sorted(map(str, actual - expected)) == [], f"obsolete in {lang}: run `make translations`"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_valid(lang):
    catalogue = _catalogue(lang)
    assert catalogue.num_plurals == {"fr": 2, "es": 2, "ar": 6}[lang]
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(s and s.strip() for s in strings):
            problems.append(("untranslated or fuzzy", message.id))
        elif all(s == (message.id if isinstance(message.id, str) else message.id[0]) for s in strings) and LETTER.search(strings[0]):
            problems.append(("an English copy", message.id))
        problems.extend((str(error), message.id) for error in message.check(catalogue))
        if isinstance(message.id, tuple) and len(strings) != catalogue.num_plurals:
            problems.append(("wrong number of plural forms", message.id))
    assert problems == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_committed_mo_is_compiled_from_the_po(lang):
    compiled = io.BytesIO()
    write_mo(compiled, _catalogue(lang))
    committed = (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").read_bytes()
    assert committed == compiled.getvalue(), f"run `make translations` (pybabel compile) for {lang}"
