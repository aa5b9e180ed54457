"""The public pages in English, French, Spanish and Arabic: language choice, switcher, translated
strings and case texts, locale number and date formats, and caching headers."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Case, CaseTranslation, MailingStatus, OrderStatus
from tests import factories as f
from tests.reports_support import hidden_value, make_world

NNBSP = "\u202f"  # French groups digits with a narrow no-break space


def _text(response) -> str:
    # Only ASCII whitespace: French uses narrow no-break spaces in numbers and before ? ! : ;
    return re.sub(r"[ \t\r\n]+", " ", response.get_data(as_text=True))


def _html_tag(html: str) -> str:
    return re.search(r"<html[^>]*>", html).group(0)


@pytest.fixture
def sonia(seeded):
    """Sonia Dahmani's case with 12,345 cards mailed and one dispatched order."""
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    group = f.group()
    order = f.order(case.campaign, group, [(case, 4, 25)], status=OrderStatus.DISPATCHED)
    f.pack(case, 25, line=order.lines[0])
    f.mailing(case, 12345, MailingStatus.SENT).sent_on = date(2025, 12, 1)
    db.session.commit()
    return case


@pytest.fixture
def world(app):
    return make_world(packs=1, size=25)


# --- Choosing the language ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "accept, lang, direction, heading",
    [
        (None, "en", "ltr", "The cases"),
        ("en-GB,en;q=0.8", "en", "ltr", "The cases"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "fr", "ltr", "Les cas"),
        ("es-ES,es;q=0.9", "es", "ltr", "Los casos"),
        ("ar-EG,ar;q=0.9,en;q=0.3", "ar", "rtl", "القضايا"),
        ("de-DE,de;q=0.9", "en", "ltr", "The cases"),  # not offered: English
        ("de;q=0.9,es;q=0.5", "es", "ltr", "Los casos"),
    ],
)
def test_home_follows_accept_language(client, sonia, accept, lang, direction, heading):
    headers = {"Accept-Language": accept} if accept else {}
    html = _text(client.get("/", headers=headers))
    assert _html_tag(html) == f'<html lang="{lang}" dir="{direction}">'
    assert f'<h2 id="cases-title">{heading}</h2>' in html


def test_switcher_choice_is_remembered_in_a_cookie_and_beats_accept_language(client, sonia):
    page = client.get("/", headers={"Accept-Language": "fr"})
    html = _text(page)
    # The switcher: every language by its own name, linking to this page with ?lang=, current one marked.
    assert '<nav class="lang-switch" aria-label="Langue">' in html
    for code, name in (("en", "English"), ("fr", "Français"), ("es", "Español"), ("ar", "العربية")):
        assert re.search(rf'<a href="/\?lang={code}" lang="{code}" hreflang="{code}"[^>]*>{name}</a>', html)
    assert 'hreflang="fr" aria-current="true"' in html

    chosen = client.get("/?lang=ar", headers={"Accept-Language": "fr"})
    assert 'lang="ar" dir="rtl"' in _html_tag(chosen.get_data(as_text=True))
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=ar;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "private" in chosen.headers["Cache-Control"]  # a response that sets a cookie is never shared

    # Later pages, without ?lang=, keep Arabic even though the browser prefers French.
    later = client.get(f"/cases/{sonia.slug}", headers={"Accept-Language": "fr"})
    assert 'lang="ar" dir="rtl"' in _html_tag(later.get_data(as_text=True))
    assert "lang=" not in later.headers.get("Set-Cookie", "")
    # ?lang= beats the cookie, and becomes the new choice.
    assert 'lang="es"' in _html_tag(client.get("/?lang=es").get_data(as_text=True))
    assert 'lang="es"' in _html_tag(client.get("/").get_data(as_text=True))


def test_unknown_lang_values_are_ignored(client, sonia):
    response = client.get("/?lang=xx", headers={"Accept-Language": "es"})
    assert 'lang="es"' in _html_tag(response.get_data(as_text=True))
    assert "lang=" not in response.headers.get("Set-Cookie", "")
    client.set_cookie("lang", "<script>")
    assert 'lang="en"' in _html_tag(client.get("/").get_data(as_text=True))


def test_localized_responses_vary_on_language_and_cookie(client, world):
    for url in ("/", f"/cases/{world.case.slug}", f"/p/{world.packs[0].token}", "/p", "/no-such-page"):
        vary = {v.strip() for v in client.get(url).headers.get("Vary", "").split(",")}
        assert {"Accept-Language", "Cookie"} <= vary, url
    # The htmx fragments too (the 60 s polling of totals).
    fragment = client.get("/", headers={"HX-Request": "true", "Accept-Language": "fr"})
    assert {"Accept-Language", "Cookie", "HX-Request"} <= {v.strip() for v in fragment.headers["Vary"].split(",")}
    assert "Cartes commandées" in fragment.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)


def test_staff_pages_stay_english(client, people, staff_client):
    response = staff_client.get("/staff/", headers={"Accept-Language": "fr"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert _html_tag(html) == '<html lang="en" dir="ltr">'
    assert "lang-switch" not in html and "Accept-Language" not in response.headers.get("Vary", "")
    staff_client.get("/?lang=ar")
    assert 'lang="en"' in _html_tag(staff_client.get("/staff/cases").get_data(as_text=True))


# --- Translated pages ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "page, lang, texts",
    [
        ("home", "en", ["Cards ordered", "Mailed to the case", "12,345", "Write a card, post it, and tell us."]),
        ("home", "fr", ["Cartes commandées", "Acheminées aux destinataires", f"12{NNBSP}345", "Écrivez une carte, postez-la"]),
        ("home", "es", ["Tarjetas pedidas", "Remitidas a los destinatarios", "12.345", "Escribe una tarjeta, envíala"]),
        ("home", "ar", ["البطاقات المطلوبة", "أُرسلت إلى أصحاب القضية", "12,345", "اكتب بطاقة وأرسلها بالبريد"]),
        ("case", "en", ["The ask", "1 December 2025", "12,345 solidarity cards sent to Sonia Dahmani&#39;s family"]),
        ("case", "fr", ["1 décembre 2025", "Ce que nous demandons", "Son histoire", "Où l’envoyer", "12\u202f345 cartes de solidarité envoyées à la famille de Sonia Dahmani"]),
        ("case", "es", ["Lo que pedimos", "Su historia", "Adónde enviarla", "12.345 tarjetas de solidaridad enviadas a la familia de Sonia Dahmani"]),
        ("case", "ar", ["مطالبنا", "القصة", "إلى أين ترسلها", "تم إرسال 12,345 بطاقة تضامن إلى عائلة سنية الدهماني"]),
    ],
)
def test_home_and_case_page_in_each_language_with_local_numbers(client, sonia, page, lang, texts):
    path = "/" if page == "home" else f"/cases/{sonia.slug}"
    html = _text(client.get(f"{path}?lang={lang}"))
    for text in texts:
        assert text in html, (page, lang, text)


@pytest.mark.parametrize(
    "lang, dates",
    [("en", "1 November 2025 – 31 December 2025"), ("fr", "1 novembre 2025 – 31 décembre 2025"),
     ("es", "1 de noviembre de 2025 – 31 de diciembre de 2025"), ("ar", "1 نوفمبر 2025 – 31 ديسمبر 2025")],
)
def test_campaign_dates_in_each_language(client, sonia, lang, dates):
    html = _text(client.get(f"/?lang={lang}"))
    assert dates in html


@pytest.mark.parametrize(
    "lang, texts",
    [
        ("en", ["How many cards did you post?", "Report my cards", "25 of the 25 cards in this pack are still to report.", "25 cards"]),
        ("fr", ["Combien de cartes avez-vous postées\u202f?", "Signaler mes cartes", "Reste à signaler\u202f: 25 sur les 25 cartes de ce paquet.", "25 cartes"]),
        ("es", ["¿Cuántas tarjetas has enviado?", "Registrar mis tarjetas", "Por registrar: 25 de las 25 tarjetas de este paquete.", "25 tarjetas"]),
        ("ar", ["كم بطاقة أرسلت؟", "أبلِغ عن بطاقاتي", "لم يُبلَّغ بعد عن 25 من أصل 25 بطاقة في هذه الحزمة.", "25 بطاقة"]),
    ],
)
def test_pack_page_in_each_language(client, world, lang, texts):
    html = _text(client.get(f"/p/{world.packs[0].token}?lang={lang}"))
    for text in texts:
        assert text in html, (lang, text)


def test_report_thanks_and_errors_in_the_chosen_language(client, world):
    pack = world.packs[0]
    page = client.get(f"/p/{pack.token}?lang=fr").get_data(as_text=True)
    key = hidden_value(page, "idempotency_key")
    # Form validation and the service's refusal speak French.
    bad = _text(client.post(f"/p/{pack.token}", data={"idempotency_key": key, "cards": "trois"}))
    assert "Saisissez un nombre entier de cartes, par exemple 3." in bad
    too_many = _text(client.post(f"/p/{pack.token}", data={"idempotency_key": key, "cards": "30"}))
    assert "Saisissez un nombre de 1 à 1000." in too_many or "Il ne reste que 25 cartes" in too_many
    thanks = _text(client.post(f"/p/{pack.token}", data={"idempotency_key": key, "cards": "3"}, headers={"HX-Request": "true"}))
    assert "Merci\u202f!" in thanks and "Vous avez signalé <strong>3 cartes</strong> pour" in thanks
    assert "3 sur 25" in thanks


def test_too_many_cards_message_in_spanish(client, world):
    pack = world.packs[0]
    key = hidden_value(client.get(f"/p/{pack.token}?lang=es").get_data(as_text=True), "idempotency_key")
    client.post(f"/p/{pack.token}", data={"idempotency_key": key, "cards": "20"})
    key = hidden_value(client.get(f"/p/{pack.token}").get_data(as_text=True), "idempotency_key")
    html = _text(client.post(f"/p/{pack.token}", data={"idempotency_key": key, "cards": "9"}))
    assert "Solo quedan 5 tarjetas en este paquete: introduce 5 o menos." in html


def test_manual_code_entry_in_arabic(client, world):
    page = _text(client.get("/p?lang=ar"))
    assert "اكتب رمز حزمتك" in page and 'dir="rtl"' in page
    wrong = _text(client.post("/p", data={"code": "7K3Q-9XJ2-Z"}))
    assert "في هذا الرمز خطأ مطبعي" in wrong or "لا توجد حزمة بهذا الرمز" in wrong
    assert "يتكوّن رمز الحزمة من" in _text(client.post("/p", data={"code": "ABC"}))


def test_not_found_pages_in_each_language(client, world):
    assert "Nous n’avons pas trouvé cette page" in _text(client.get("/nope", headers={"Accept-Language": "fr"}))
    assert "No hemos encontrado este paquete" in _text(client.get("/p/" + "Z" * 26, headers={"Accept-Language": "es"}))
    assert "لم نعثر على هذه الصفحة" in _text(client.get("/cases/nobody", headers={"Accept-Language": "ar"}))


# --- Case texts per language -------------------------------------------------------------------------------

def test_case_texts_per_language_with_english_fallback(client, world):
    case = world.case
    db.session.add(CaseTranslation(case_id=case.id, locale="fr", summary="Résumé en français.",
                                   story="Son histoire en français.", ask="Libérez-la.", what_to_write="Écrivez-lui."))
    db.session.commit()
    token = world.packs[0].token

    fr = _text(client.get(f"/cases/{case.slug}?lang=fr"))
    assert "Son histoire en français." in fr and "Libérez-la." in fr and "Résumé en français." in fr
    assert case.name in fr  # no translated name: the English one
    pack_fr = _text(client.get(f"/p/{token}?lang=fr"))
    assert "Écrivez-lui." in pack_fr and "Libérez-la." in pack_fr

    es = _text(client.get(f"/cases/{case.slug}?lang=es"))  # no Spanish texts: English, marked as English
    assert case.story in es and "Son histoire en français." not in es
    assert f'<div class="prose" lang="en" dir="ltr">{case.story}</div>' in es
    assert f'<div class="prose">Son histoire en français.</div>' in fr
    assert "Tell her she is not alone." in _text(client.get(f"/p/{token}?lang=en"))

    home = _text(client.get("/?lang=fr"))
    assert "Résumé en français." in home


def test_an_empty_translated_field_falls_back_to_english(client, world):
    case = world.case
    db.session.add(CaseTranslation(case_id=case.id, locale="ar", name="سونيا", summary="  ", story="", ask="أطلقوا سراحها."))
    db.session.commit()
    html = _text(client.get(f"/cases/{case.slug}?lang=ar"))
    assert "سونيا" in html and "أطلقوا سراحها." in html and case.summary in html and case.story in html


def test_one_translation_per_case_and_language(app, world):
    from sqlalchemy.exc import IntegrityError

    db.session.add_all([CaseTranslation(case_id=world.case.id, locale="fr"), CaseTranslation(case_id=world.case.id, locale="fr")])
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- Staff edit the translations in the case admin ---------------------------------------------------------

def _sonia():
    return db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))


def _untranslated():
    """A seeded case without texts in other languages."""
    return db.session.scalar(sa.select(Case).where(Case.slug == "cambodia-youth-environment"))


def _translations_of(case) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(CaseTranslation).where(CaseTranslation.case_id == case.id))


def test_staff_add_edit_and_remove_a_translation(staff_client, people, client):
    from app.models import AuditEvent

    case = _untranslated()
    url = f"/staff/cases/{case.id}/translations/es"
    page = staff_client.get(url).get_data(as_text=True)
    assert 'lang="es" dir="ltr"' in page and "English: " + case.summary in page
    assert staff_client.get(f"/staff/cases/{case.id}").get_data(as_text=True).count(f"/staff/cases/{case.id}/translations/fr") == 1

    data = {"summary": "Abogada encarcelada por sus palabras.", "ask": "Liberad a Sonia.", "story": "Sonia es abogada.",
            "what_to_write": "", "name": "", "country": "Túnez", "photo_alt": ""}
    response = staff_client.post(url, data=data)
    assert response.status_code == 303
    saved = db.session.scalar(sa.select(CaseTranslation).where(CaseTranslation.case_id == case.id))
    assert _translations_of(case) == 1
    assert (saved.locale, saved.summary, saved.country, saved.name) == ("es", "Abogada encarcelada por sus palabras.", "Túnez", "")
    public = _text(client.get(f"/cases/{case.slug}?lang=es"))
    assert "Liberad a Sonia." in public and "Túnez" in public and case.name in public
    assert case.what_to_write.split("\n")[0] in public  # empty in Spanish: English

    staff_client.post(url, data={**data, "ask": "¡Liberad a Sonia ya!"})
    db.session.expire_all()
    assert _translations_of(case) == 1
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("case.translation%"))).all()
    assert actions == ["case.translation_saved", "case.translation_saved"]

    assert staff_client.post(f"{url}/delete").status_code == 303
    assert _translations_of(case) == 0
    assert case.ask in _text(client.get(f"/cases/{case.slug}?lang=es"))


def test_translation_form_validates_like_the_english_one(staff_client, people):
    case = _untranslated()
    response = staff_client.post(f"/staff/cases/{case.id}/translations/ar",
                                 data={"summary": "", "ask": "x" * 501, "story": "قصة", "name": "سونيا"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Enter a one-line summary." in html and "Field cannot be longer than 500 characters." in html
    assert 'lang="ar" dir="rtl"' in html  # Arabic is typed right to left
    assert _translations_of(case) == 0


def test_translation_pages_are_for_staff_and_known_languages_only(client, people, staff_client, coord_client):
    case = _untranslated()
    assert staff_client.get(f"/staff/cases/{case.id}/translations/de").status_code == 404
    assert staff_client.get(f"/staff/cases/{case.id}/translations/en").status_code == 404
    assert coord_client.get(f"/staff/cases/{case.id}/translations/fr").status_code in (403, 404)
    anonymous = client.post(f"/staff/cases/{case.id}/translations/fr", data={"summary": "x", "ask": "y", "story": "z"})
    assert anonymous.status_code in (302, 303, 401, 403)
    assert _translations_of(case) == 0


def test_seed_adds_case_translations_once_and_keeps_staff_edits(app, runner, client):
    from app import seeding

    first = seeding.seed()
    assert first.translations == 6  # fr, es, ar for two cases
    sonia = _sonia()
    db.session.execute(sa.update(CaseTranslation).where(CaseTranslation.case_id == sonia.id, CaseTranslation.locale == "fr")
                       .values(ask="Texte modifié par l’équipe."))
    db.session.commit()
    result = runner.invoke(args=["seed"])
    assert "Already seeded: nothing to change." in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseTranslation)) == 6
    assert "Texte modifié par l’équipe." in _text(client.get("/cases/sonia-dahmani?lang=fr"))
    arabic = _text(client.get("/cases/sonia-dahmani?lang=ar"))
    assert "سنية الدهماني" in arabic and "أطلقوا سراح سنية الدهماني الآن" in arabic


def test_templates_render_outside_a_request_in_english(app):
    """E-mails are rendered by workers and the CLI, with no request: English, no switcher."""
    from flask import render_template_string

    html = render_template_string("{{ page_lang }} {{ page_dir }} {{ language_links is none }} {{ 12345|number }} {{ _('Cases') }}")
    assert html == "en ltr True 12,345 Cases"


def test_cached_catalogues_follow_each_request_language(client, world):
    """The catalogues are looked up once per request and WTForms' once per process and language:
    back-to-back requests in different languages still each get their own."""
    pack = world.packs[0]
    for lang, text in [("fr", "Signaler mes cartes"), ("en", "Report my cards"), ("ar", "أبلِغ عن بطاقاتي"),
                       ("es", "Registrar mis tarjetas"), ("fr", "Signaler mes cartes")]:
        html = _text(client.get(f"/p/{pack.token}", headers={"Accept-Language": lang}))
        assert text in html, lang


def test_public_forms_use_wtforms_messages_in_the_page_language(app):
    from app.reports.forms import CodeForm

    with app.test_request_context("/p", headers={"Accept-Language": "fr"}):
        app.preprocess_request()
        translations = CodeForm(formdata=None).meta.get_translations(None)
        assert translations.gettext("This field is required.") == "Ce champ est requis."
    with app.test_request_context("/p", headers={"Accept-Language": "en"}):
        app.preprocess_request()
        assert CodeForm(formdata=None).meta.get_translations(None).gettext("This field is required.") == \
            "This field is required."
