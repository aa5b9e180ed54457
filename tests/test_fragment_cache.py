"""`{% cache %}` (app/templating.py): the page chrome of anonymous visitors is rendered once per
language, and never reaches signed-in people or another language."""

from __future__ import annotations

from flask import render_template_string

from tests.conftest import login


def _nav(response) -> str:
    html = response.get_data(as_text=True)
    return html[html.index('<nav aria-label='):html.index("</nav>")]


def test_each_language_gets_its_own_chrome(client, seeded):
    english = client.get("/", headers={"Accept-Language": "en"})
    french = client.get("/", headers={"Accept-Language": "fr"})
    again = client.get("/", headers={"Accept-Language": "en"})
    assert ">Log in<" in _nav(english) and ">Log in<" in _nav(again)
    assert ">Log in<" not in _nav(french) and "Se connecter" in _nav(french)
    assert "Write for Rights — letters and cards" in english.get_data(as_text=True)
    assert "Write for Rights — letters and cards" not in french.get_data(as_text=True)


def test_signed_in_people_get_their_own_menu_and_anonymous_ones_never_do(app, client, people):
    assert ">Log in<" in _nav(client.get("/"))  # the anonymous menu is now cached
    staff = app.test_client()
    login(staff, people.staff.email)
    menu = _nav(staff.get("/"))
    assert "Log out" in menu and ">Staff<" in menu and ">Log in<" not in menu
    assert 'name="csrf_token"' in menu
    coordinator = app.test_client()
    login(coordinator, people.coord_a.email)
    assert ">My group<" in _nav(coordinator.get("/")) and ">Staff<" not in _nav(coordinator.get("/"))
    anonymous = _nav(app.test_client().get("/"))
    assert "Log out" not in anonymous and ">Staff<" not in anonymous and ">Log in<" in anonymous


def test_a_fragment_is_rendered_once_per_key_and_url_prefix(app):
    calls = []
    app.jinja_env.globals["count_call"] = lambda: calls.append(1) or len(calls)
    source = '{% cache "test-count", key %}[{{ count_call() }}]{% endcache %}'
    with app.test_request_context("/"):
        first = [render_template_string(source, key=k) for k in ("a", "a", "b", "a")]
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/cards"}):
        prefixed = render_template_string(source, key="a")
    assert first == ["[1]", "[1]", "[2]", "[1]"] and prefixed == "[3]"


def test_nothing_is_cached_while_templates_reload(app):
    app.jinja_env.auto_reload = True  # development: edited templates show at once
    try:
        calls = []
        app.jinja_env.globals["count_call"] = lambda: calls.append(1) or len(calls)
        source = '{% cache "test-reload" %}[{{ count_call() }}]{% endcache %}'
        with app.test_request_context("/"):
            assert [render_template_string(source) for _ in range(2)] == ["[1]", "[2]"]
    finally:
        app.jinja_env.auto_reload = False
