"""Browser tests: Debian's Chromium driven by pytest-playwright against the real app on a loopback port.

The app runs in this process, served by werkzeug in a thread, on its own fresh SQLite file (also when
TEST_DATABASE_URL points the rest of the suite at PostgreSQL: the journeys are about the browser, and
the shared database stays untouched). CSRF is on, as in production. The schema comes from the real
migrations; `seed` adds the campaign and its cases; each test adds the groups, orders and packs it
needs through the factories, so tests do not depend on each other's order.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from tests.conftest import PASSWORD, make_config, password_hash

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
AXE_JS = HERE / "vendor" / "axe-core" / "axe.min.js"
STAFF_EMAIL = "staff@browser.example.org"
CASE_A = "sonia-dahmani"
CASE_B = "sai-zaw-thaike"
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(session, config, items):
    """The browser tests run after the rest of the suite: Chromium and Playwright's event loop start
    once, at the end, and stay out of the way of the other tests."""
    items.sort(key=lambda item: HERE in item.path.parents)


# --- The browser: Debian's Chromium, never a downloaded one -------------------------------------------

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox", "--disable-dev-shm-usage"]}


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """pytest-playwright resolves `page.goto("/p")` against the live server."""
    return live_server.url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- The live server ----------------------------------------------------------------------------------

@dataclass
class LiveServer:
    app: object
    url: str

    @contextmanager
    def data(self):
        """An app context for arranging data directly (committed on exit)."""
        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            finally:
                db.session.remove()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from flask_migrate import upgrade

    from app import seeding
    from app.models import Case, Role, User
    from app.stock import services as stock

    path = tmp_path_factory.mktemp("browser-db") / "browser.sqlite"
    server = make_server("127.0.0.1", 0, None, threaded=True)  # the port first: BASE_URL goes into QR codes
    url = f"http://127.0.0.1:{server.server_port}"
    app = create_app(make_config(
        "sqlite:///" + str(path), WTF_CSRF_ENABLED=True, BASE_URL=url, WEBHOOK_WORKER=False,
        SQLITE_SYNCHRONOUS="NORMAL",
    ))
    server.app = app
    with app.app_context():
        upgrade()
        seeding.seed()
        staff = User(email=STAFF_EMAIL, name="Sam Staff", role=Role.STAFF, password_hash=password_hash())
        db.session.add(staff)
        db.session.commit()
        for case in db.session.scalars(sa.select(Case)):
            stock.record_print_run(case, 100_000, "Browser Test Printers", "", staff)
        db.session.remove()
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(app=app, url=url)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    with app.app_context():
        db.engine.dispose()


# --- Pages --------------------------------------------------------------------------------------------

@pytest.fixture
def new_page(browser, base_url):
    """Open a page in a fresh context (its own cookies): `new_page(viewport=PHONE, java_script_enabled=False)`."""
    contexts = []

    def open_page(**options):
        options.setdefault("base_url", base_url)
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def login(page, email: str, password: str = PASSWORD) -> None:
    """Log in through the login form."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"^(?!.*/login)"))


def expect_settled(locator) -> None:
    """Wait until htmx has settled a swap into `locator` (its new content is processed: hx-* work)."""
    from playwright.sync_api import expect

    expect(locator).not_to_have_class(re.compile(r"\bhtmx-(added|settling|swapping)\b"))
    expect(locator.locator(".htmx-added, .htmx-settling")).to_have_count(0)


def shot(page, artifacts: Path, name: str) -> None:
    """A full-page screenshot of a key screen, for people reviewing the journey."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


# --- Data ----------------------------------------------------------------------------------------------

_counter = iter(range(1, 1_000_000))


def unique(prefix: str) -> str:
    return f"{prefix} {next(_counter)}"


@dataclass
class PackInfo:
    id: int
    token: str
    code: str
    size: int
    case_name: str
    case_slug: str

    @property
    def printed(self) -> str:
        """The code as printed under the QR code: 7K3Q-9XJ2-M."""
        from app.packs.codes import format_code

        return format_code(self.code)


def make_packs(live: LiveServer, case_slug: str = CASE_A, size: int = 25, count: int = 1, posted: int = 0) -> list[PackInfo]:
    """Dispatched packs of an order of a new approved group, for one case of the current campaign."""
    from app.models import Case, OrderStatus
    from tests import factories as f

    with live.data() as session:
        case = session.scalar(sa.select(Case).where(Case.slug == case_slug))
        group = f.group(name=unique("Packs Group"))
        order = f.order(case.campaign, group, lines=[(case, count, size)], status=OrderStatus.DISPATCHED)
        packs = [f.pack(case, size=size, line=order.lines[0], posted=posted) for _ in range(count)]
        infos = [PackInfo(p.id, p.token, p.code, p.size, case.name, case.slug) for p in packs]
    return infos


def make_coordinator(live: LiveServer, group_name: str | None = None) -> tuple[str, int]:
    """An approved group with a coordinator who can log in: (email, group id)."""
    from app.models import Role, User
    from tests import factories as f

    with live.data() as session:
        name = group_name or unique("Coordinated Group")
        email = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") + "@groups.example.org"
        group = f.group(name=name, contact_email=email)
        session.add(User(email=email, name="Cody Coordinator", role=Role.COORDINATOR, group=group,
                         password_hash=password_hash()))
        group_id = group.id
    return email, group_id


def report_behind_the_page(live, pack_id: int, cards: int) -> None:
    """Another volunteer reports from the same pack meanwhile."""
    from app.models import Pack, ReportSource
    from app.reports import services

    with live.app.app_context():
        from app.extensions import db

        try:
            services.record_report(db.session.get(Pack, pack_id), cards, ReportSource.PAGE, str(uuid.uuid4()))
        finally:
            db.session.remove()


def scalar(live: LiveServer, statement):
    with live.app.app_context():
        try:
            return db.session.scalar(statement)
        finally:
            db.session.remove()


# --- Accessibility: axe-core, WCAG 2.2 AA ------------------------------------------------------------

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core on the page as it is now; the violations of the given impacts, summarised.

    axe is evaluated through the DevTools protocol, which the page's CSP (no inline script) does not
    govern: the page under test keeps its real CSP.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS,
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [" ".join(n["target"]) if isinstance(n["target"], list) else n["target"] for n in v["nodes"]][:5],
         "summary": v["nodes"][0].get("failureSummary", "")[:300]}
        for v in results["violations"] if v["impact"] in impacts
    ]
