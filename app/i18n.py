"""Languages of the public pages (Flask-Babel): which locale a request gets, the switcher, and the
locale-aware number and date filters.

The public pages (campaign home, case pages, the volunteer's pack page, manual code entry and the
error pages people see) speak English, French, Spanish and Arabic. Staff pages stay English for now:
every other endpoint gets English whatever the browser asks for.

Choice, strongest first: `?lang=xx` in the URL (the switcher's links; remembered in a cookie), the
cookie, the browser's Accept-Language, English. Localized responses say `Vary: Accept-Language,
Cookie` so a cache never serves one language to another person.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Optional
from urllib.parse import urlencode

from babel import Locale, support
from babel import numbers as babel_numbers
from flask import Flask, current_app, has_request_context, request
from flask.wrappers import Response
from flask_babel import Babel, format_date, format_percent, get_locale, get_translations, refresh
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
DEFAULT = "en"


@dataclass(frozen=True)
class Language:
    code: str  # in URLs, the cookie and <html lang>
    locale: str  # Babel locale for numbers and dates (British English dates: 1 November 2025)
    name: str  # the language's own name, shown as is in every language (an autonym)
    rtl: bool = False


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "en_GB", "English"),
        Language("fr", "fr", "Français"),
        Language("es", "es", "Español"),
        Language("ar", "ar", "العربية", rtl=True),
    )
}

# Endpoints whose pages are translated; `None` is a URL no view matched (the public 404 page).
PUBLIC_ENDPOINTS = frozenset({
    None,
    "public.home",
    "public.case_page",
    "reports.pack_page",
    "reports.post_report",
    "reports.thanks",
    "reports.enter_code",
})

babel = Babel()


def is_public_request() -> bool:
    """True when this request renders a translated public page."""
    return request.endpoint in PUBLIC_ENDPOINTS


def _explicit_choice() -> Optional[str]:
    for value in (request.args.get("lang"), request.cookies.get(COOKIE)):
        if value and value.lower() in LANGUAGES:
            return value.lower()
    return None


_LANGUAGE = "cardtrail.language"


def current_language() -> Language:
    """The language of this request's page (English outside a request and on staff pages); chosen once
    per request (the URL, cookie and headers it reads do not change)."""
    if not has_request_context():
        return LANGUAGES[DEFAULT]
    environ = request.environ
    language = environ.get(_LANGUAGE)
    if language is None:
        code = DEFAULT
        if is_public_request():
            code = _explicit_choice() or request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT
        language = environ[_LANGUAGE] = LANGUAGES[code]
    return language


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    return current_language().locale


def _forget_previous_locale() -> None:
    """Flask-Babel caches the locale on `g`, which outlives a request when an app context is already
    pushed (tests, CLI): choose afresh for each request."""
    refresh()
    request.environ.pop(_TRANSLATIONS, None)
    request.environ.pop(_LANGUAGE, None)


# --- Translations, looked up once per request -------------------------------------------------------
# Flask-Babel keeps the catalogues in memory, but each `_()` in a template asks again for the request's
# locale and catalogue (~8 µs, ~30 times on the pack page); Flask-WTF even re-reads WTForms' .mo file
# from disk for every request that builds a form. Both are cached here: per request (the locale cannot
# change after `before_request`) and per locale for the process (the catalogues are static files).

_TRANSLATIONS = "cardtrail.translations"


def request_translations():
    """This request's catalogue (Flask-Babel's), found once per request."""
    if not has_request_context():
        return get_translations()
    environ = request.environ
    translations = environ.get(_TRANSLATIONS)
    if translations is None:
        translations = environ[_TRANSLATIONS] = get_translations()
    return translations


@functools.lru_cache(maxsize=None)
def _wtforms_catalogue(locale: str):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class PublicForm(FlaskForm):
    """A form on a public page: WTForms' own messages in the page's language, the catalogue read once
    per process and locale (Flask-WTF reloads it from disk on every request)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _wtforms_catalogue(str(get_locale() or DEFAULT))


def _remember_and_vary(response: Response) -> Response:
    """Localized pages vary by language; a `?lang=` choice is remembered in a cookie."""
    if not is_public_request():
        return response
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    chosen = (request.args.get("lang") or "").lower()
    if chosen in LANGUAGES and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        )
        if "no-store" not in (response.headers.get("Cache-Control") or ""):
            response.headers["Cache-Control"] = "private, no-cache"  # never share a Set-Cookie response
    return response


# --- Template helpers ------------------------------------------------------------------------------

def number(value: int | float | None) -> str:
    """12345 -> '12,345' (en), '12 345' (fr), '12.345' (es), as Babel writes it for the page's locale.

    Staff pages, e-mails and anything outside a public request keep the plain English grouping."""
    if has_request_context() and is_public_request():
        return _decimal(int(value or 0), current_language().locale)
    return f"{int(value or 0):,}"


@functools.lru_cache(maxsize=4096)
def _decimal(value: int, locale: str) -> str:
    """Babel's formatting (~40 µs), remembered: pages show the same few counts again and again."""
    return babel_numbers.format_decimal(value, locale=locale)


def long_date(value: date) -> str:
    """1 November 2025 / 1 novembre 2025 / 1 de noviembre de 2025 / 1 نوفمبر 2025 (as Babel gives them)."""
    return format_date(value, format="long")


def percent_of(part: int | float | None, whole: int | float | None) -> str:
    """Whole percent in the page's locale, capped to 0..100: '42%', '42 %' (fr)."""
    from .templating import percent

    return format_percent(percent(part, whole) / 100)


def language_links() -> list[tuple[Language, str, bool]]:
    """The switcher: each language, this page's URL with `?lang=` (other arguments kept), and
    whether it is the current one. Built from the request path, so it works on 404 pages too."""
    here = current_language()
    args = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "lang"])
    base = request.script_root + request.path + "?" + (args + "&" if args else "") + "lang="
    return [(lang, base + lang.code, lang.code == here.code) for lang in LANGUAGES.values()]


def _template_context() -> dict:
    lang = current_language()  # English outside a request (e-mails rendered by a worker)
    public = has_request_context() and is_public_request()
    return {
        "page_lang": lang.code,
        "page_dir": "rtl" if lang.rtl else "ltr",
        "language_links": language_links if public else None,
    }


def init_app(app: Flask) -> None:
    """Bind Flask-Babel (catalogues in app/translations) and the language helpers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")  # relative to app/
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.before_request(_forget_previous_locale)
    app.after_request(_remember_and_vary)
    app.context_processor(_template_context)
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["long_date"] = long_date
    app.jinja_env.globals["percent_label"] = percent_of


__all__ = ["LANGUAGES", "Language", "babel", "current_language", "get_locale", "init_app", "Locale"]
