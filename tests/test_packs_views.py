"""Pack pages and label downloads: access for staff, own/other coordinators and anonymous users on
every route, CSRF, htmx fragments vs full pages, PDFs whose QR codes decode to the right packs, and
the background job with its self-refreshing progress component."""

from __future__ import annotations

import os
import re
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, LabelJob, LabelJobStatus, OrderStatus, Pack, PrintRun
from app.packs import jobs, qr, services
from app.packs.codes import format_code
from tests import factories
from tests.conftest import login
from tests.packs_helpers import decode_pdf, token_from_url


class World:
    def __init__(self, people):
        self.people = people
        campaign = factories.campaign()
        self.case = factories.case(campaign, name="Sonia Dahmani", ask="Free Sonia Dahmani now.")
        self.order_a = factories.order(campaign, people.group_a, lines=[(self.case, 3, 25)])
        self.order_b = factories.order(campaign, people.group_b, lines=[(self.case, 2, 10)])
        services.create_packs_for_order(self.order_a)
        services.create_packs_for_order(self.order_b)
        self.run = PrintRun(case_id=self.case.id, cards=500)
        db.session.add(self.run)
        db.session.commit()
        self.packs_a = services.order_packs(self.order_a)
        self.packs_b = services.order_packs(self.order_b)
        self.line_a = self.order_a.lines[0]


@pytest.fixture
def world(people) -> World:
    return World(people)


@pytest.fixture
def other_client(app, people):
    client = app.test_client()
    login(client, people.coord_b.email)
    return client


@pytest.fixture
def anon_client(app):
    return app.test_client()


def label_form(order_id, **extra):
    data = {"layout": "3x8", "paper": "a4", "start_at": "1", "copies": "1", "kind": "order", "order_id": str(order_id)}
    data.update(extra)
    return data


def routes(w: World) -> dict[str, tuple[str, str, dict | None]]:
    """Every route of the packs blueprint, with realistic arguments."""
    a = w.order_a.id
    return {
        "order_packs": ("GET", f"/orders/{a}/packs", None),
        "label_preview": ("GET", f"/packs/labels/preview?kind=order&order_id={a}&layout=3x8&paper=a4&start_at=1&copies=1", None),
        "download_labels": ("POST", "/packs/labels", label_form(a)),
        "packing_slip": ("GET", f"/orders/{a}/packing-slip.pdf", None),
        "create_missing_packs": ("POST", f"/staff/orders/{a}/packs", {}),
        "reissue_pack_confirm": ("GET", f"/staff/packs/{w.packs_a[0].id}/reissue", None),
        "reissue_pack": ("POST", f"/staff/packs/{w.packs_a[0].id}/reissue", {}),
        "reissued_pack": ("GET", f"/staff/packs/{w.packs_a[0].id}", None),
        "print_runs": ("GET", "/staff/packs", None),
        "print_run_packs": ("GET", f"/staff/print-runs/{w.run.id}/packs", None),
        "print_run_create": ("POST", f"/staff/print-runs/{w.run.id}/packs", {"size": "25", "count": "2"}),
        "assign_packs": ("POST", f"/staff/order-lines/{w.line_a.id}/assign", {"packs": "999999"}),
    }


STAFF_ONLY = {"packing_slip", "create_missing_packs", "reissue_pack_confirm", "reissue_pack", "reissued_pack",
              "print_runs", "print_run_packs", "print_run_create", "assign_packs"}


def call(client, method, url, data):
    return client.get(url) if method == "GET" else client.post(url, data=data)


def test_every_route_is_covered_by_the_access_tests(app, world):
    endpoints = {r.endpoint.split(".", 1)[1] for r in app.url_map.iter_rules() if r.endpoint.startswith("packs.")}
    covered = {name.removesuffix("_confirm").removesuffix("_create") for name in routes(world)}
    covered |= {"label_job", "label_job_file"}  # tested with a real job below
    assert endpoints <= covered | {"print_run_packs"}


def test_anonymous_users_are_sent_to_log_in_everywhere(world, anon_client):
    for name, (method, url, data) in routes(world).items():
        response = call(anon_client, method, url, data)
        assert response.status_code == 302 and "/login" in response.location, name
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action.like("pack%"))) == 0


def test_coordinators_get_403_on_staff_routes(world, coord_client, other_client):
    for client in (coord_client, other_client):
        for name, (method, url, data) in routes(world).items():
            if name in STAFF_ONLY:
                assert call(client, method, url, data).status_code == 403, name
    db.session.expire_all()
    assert world.packs_a[0].reissued_at is None


def test_staff_reach_every_route(world, staff_client):
    for name, (method, url, data) in routes(world).items():
        response = call(staff_client, method, url, data)
        assert response.status_code in (200, 303), (name, response.status_code)


def test_own_coordinator_sees_packs_and_downloads_labels(world, coord_client, app):
    page = coord_client.get(f"/orders/{world.order_a.id}/packs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for pack in world.packs_a:
        assert format_code(pack.code) in html
    assert "Reissue label" not in html and "Packing slip" not in html
    response = coord_client.post("/packs/labels", data=label_form(world.order_a.id, layout="insert"))
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    decoded = [token_from_url(b.text) for page in decode_pdf(response.data) for b in page]
    assert decoded == [p.token for p in world.packs_a]


def test_other_groups_order_answers_404_like_a_missing_one(world, other_client):
    a = world.order_a.id
    assert other_client.get(f"/orders/{a}/packs").status_code == 404
    assert other_client.get(f"/orders/999999/packs").status_code == 404
    assert other_client.get(f"/packs/labels/preview?kind=order&order_id={a}&layout=3x8&paper=a4&start_at=1&copies=1").status_code == 404
    assert other_client.post("/packs/labels", data=label_form(a)).status_code == 404
    assert other_client.post("/packs/labels", data=label_form(999999)).status_code == 404
    # Chosen packs: one of another group's packs among their own is refused whole.
    mixed = f"{world.packs_b[0].id}, {world.packs_a[0].id}"
    assert other_client.post("/packs/labels", data=label_form(None, kind="packs", packs=mixed)).status_code == 404
    own = ",".join(str(p.id) for p in world.packs_b)
    response = other_client.post("/packs/labels", data=label_form(None, kind="packs", packs=own))
    assert response.status_code == 200
    assert [token_from_url(b.text) for b in decode_pdf(response.data)[0]] == [p.token for p in world.packs_b]


def test_coordinators_cannot_print_runs_or_ranges(world, coord_client):
    assert coord_client.post("/packs/labels", data=label_form(None, kind="print_run", print_run_id=world.run.id)).status_code == 403
    first, last = world.packs_a[0].id, world.packs_b[-1].id
    assert coord_client.post("/packs/labels", data=label_form(None, kind="range", first_id=first, last_id=last)).status_code == 403


def test_staff_label_pdf_with_start_position_copies_and_range(world, staff_client, app):
    first, last = world.packs_a[0].id, world.packs_b[-1].id
    response = staff_client.post("/packs/labels", data=label_form(None, kind="range", first_id=first, last_id=last,
                                                                  start_at="4", copies="2", paper="letter"))
    assert response.status_code == 200
    decoded = [b.text for b in decode_pdf(response.data)[0]]
    expected = [qr.qr_payload(p.token, app.config["BASE_URL"]) for p in world.packs_a + world.packs_b for _ in range(2)]
    assert decoded == expected


def test_invalid_label_options_answer_422_with_the_reason(world, staff_client):
    response = staff_client.post("/packs/labels", data=label_form(world.order_a.id, start_at="25"))
    assert response.status_code == 422 and "This sheet has 24 positions" in response.get_data(as_text=True)
    response = staff_client.post("/packs/labels", data=label_form(None, kind="packs", packs="12; DROP TABLE"))
    assert response.status_code == 422 and "pack numbers" in response.get_data(as_text=True)
    response = staff_client.post("/packs/labels", data=label_form(world.order_a.id, layout="9x9"))
    assert response.status_code == 422


def test_preview_is_a_fragment_for_htmx_and_a_page_otherwise(world, staff_client):
    url = f"/packs/labels/preview?kind=order&order_id={world.order_a.id}&layout=3x8&paper=a4&start_at=2&copies=1"
    fragment = staff_client.get(url, headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in html
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert html.count('class="sheet__label') == 24 and html.count("sheet__label--empty") == 21
    assert html.count("<svg") == 3 and format_code(world.packs_a[0].code) in html
    page = staff_client.get(url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)


def test_order_packs_table_is_a_fragment_for_htmx(world, staff_client):
    response = staff_client.get(f"/orders/{world.order_a.id}/packs", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="pack-table"' in html
    page = staff_client.get(f"/orders/{world.order_a.id}/packs").get_data(as_text=True)
    assert "<html" in page and 'hx-get="/packs/labels/preview"' in page


def test_every_post_form_carries_a_csrf_token(world, staff_client, app):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production (the suite turns it off for brevity)
    pages = [f"/orders/{world.order_a.id}/packs", f"/staff/packs/{world.packs_a[0].id}/reissue",
             f"/staff/packs/{world.packs_a[0].id}", f"/staff/print-runs/{world.run.id}/packs"]
    services.create_preprinted_packs(world.run, 25, 1)
    for url in pages:
        html = staff_client.get(url).get_data(as_text=True)
        forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", html, flags=re.S)
        assert forms, url
        for form in forms:
            assert 'name="csrf_token"' in form, (url, form[:200])
    app.config["WTF_CSRF_ENABLED"] = False


def test_posts_without_csrf_token_are_refused(world, staff_client, app):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for name, (method, url, data) in routes(world).items():
            if method == "POST":
                assert staff_client.post(url, data=data).status_code == 400, name
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    db.session.expire_all()
    assert world.packs_a[0].reissued_at is None


def test_reissue_asks_first_then_changes_the_label(world, staff_client):
    pack = world.packs_a[0]
    old_token, old_code = pack.token, pack.code
    confirm = staff_client.get(f"/staff/packs/{pack.id}/reissue")
    assert confirm.status_code == 200 and "stops working" in confirm.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Pack, pack.id).token == old_token  # a GET changes nothing
    response = staff_client.post(f"/staff/packs/{pack.id}/reissue")
    assert response.status_code == 303 and response.location.endswith(f"/staff/packs/{pack.id}")
    db.session.expire_all()
    pack = db.session.get(Pack, pack.id)
    assert pack.token != old_token and pack.code != old_code and pack.reissued_at
    page = staff_client.get(response.location).get_data(as_text=True)
    assert format_code(pack.code) in page and format_code(old_code) in page  # the flash names both
    labels_pdf = staff_client.post("/packs/labels", data=label_form(None, kind="packs", packs=str(pack.id)))
    assert [token_from_url(b.text) for b in decode_pdf(labels_pdf.data)[0]] == [pack.token]
    assert staff_client.post("/staff/packs/999999/reissue").status_code == 404


def test_packing_slip_pdf(world, staff_client):
    response = staff_client.get(f"/orders/{world.order_a.id}/packing-slip.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert [token_from_url(b.text) for b in decode_pdf(response.data)[0]] == [p.token for p in world.packs_a]
    assert staff_client.get(f"/orders/{world.order_a.id}/packing-slip.pdf?paper=a3").status_code == 404
    assert staff_client.get("/orders/999999/packing-slip.pdf").status_code == 404


def test_preprint_and_assign_from_the_pages(world, staff_client):
    response = staff_client.post(f"/staff/print-runs/{world.run.id}/packs", data={"size": "25", "count": "3"})
    assert response.status_code == 303
    pre = db.session.scalars(sa.select(Pack.id).where(Pack.print_run_id == world.run.id).order_by(Pack.id)).all()
    assert len(pre) == 3
    too_many = staff_client.post(f"/staff/print-runs/{world.run.id}/packs", data={"size": "25", "count": "1000"})
    assert too_many.status_code == 422 and "cards left" in too_many.get_data(as_text=True)
    world.line_a.packs = 5
    db.session.commit()
    response = staff_client.post(f"/staff/order-lines/{world.line_a.id}/assign", data={"packs": f"{pre[0]}-{pre[1]}"})
    assert response.status_code == 303
    db.session.expire_all()
    assert {p for p in pre[:2]} <= {p.id for p in services.order_packs(world.order_a)}
    refused = staff_client.post(f"/staff/order-lines/{world.line_a.id}/assign", data={"packs": str(pre[2])}, follow_redirects=True)
    assert "room for 0" in refused.get_data(as_text=True)


def test_create_missing_packs_button(world, staff_client):
    world.line_a.packs = 5
    db.session.commit()
    response = staff_client.post(f"/staff/orders/{world.order_a.id}/packs", follow_redirects=True)
    assert "2 pack(s) created" in response.get_data(as_text=True)
    world.order_b.status = OrderStatus.SUBMITTED
    db.session.commit()
    response = staff_client.post(f"/staff/orders/{world.order_b.id}/packs", follow_redirects=True)
    assert "approved orders only" in response.get_data(as_text=True)


def wait_for_job(client, url, timeout=30.0):
    """Poll like htmx does until the server says stop (286); return the last fragment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # tests share one session across requests: read fresh rows
        response = client.get(url, headers={"HX-Request": "true"})
        html = response.get_data(as_text=True)
        assert "<html" not in html
        if response.status_code == 286:
            return html
        assert response.status_code == 200 and 'hx-trigger="every 1s"' in html and 'hx-swap="outerHTML"' in html
        time.sleep(0.05)
    raise AssertionError("label job did not finish")


def test_big_runs_are_generated_in_the_background_with_progress(world, coord_client, other_client, staff_client, app):
    app.config["LABELS_SYNC_LIMIT"] = 4
    world.line_a.packs = 120
    db.session.commit()
    services.add_missing_packs(world.order_a, actor=None)
    started = time.monotonic()
    response = coord_client.post("/packs/labels", data=label_form(world.order_a.id, copies="2"))
    assert time.monotonic() - started < 3
    assert response.status_code == 303
    job_url = response.location
    page = coord_client.get(job_url)
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    html = wait_for_job(coord_client, job_url)
    assert "Download labels" in html and "hx-trigger" not in html
    job = db.session.scalars(sa.select(LabelJob)).one()
    assert job.status is LabelJobStatus.DONE and job.done == job.total == 240
    assert job.group_id == world.people.group_a.id
    # Only its owner and staff may see the job or fetch its file.
    assert other_client.get(job_url).status_code == 404
    assert other_client.get(job_url + "/labels.pdf").status_code == 404
    assert staff_client.get(job_url).status_code == 200
    response = coord_client.get(job_url + "/labels.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    response.close()
    os.remove(jobs.job_file(app, job))
    packs = services.order_packs(world.order_a)
    pages = decode_pdf(pdf)
    assert len(pages) == 10
    assert [token_from_url(b.text) for page in pages for b in page] == [p.token for p in packs for _ in range(2)]
    assert coord_client.get("/packs/labels/jobs/999999").status_code == 404


def test_a_stalled_job_is_shown_as_interrupted(world, coord_client, people):
    from datetime import timedelta

    from app.models import utcnow

    job = LabelJob(created_by_id=people.coord_a.id, group_id=people.group_a.id, params={}, total=10,
                   status=LabelJobStatus.RUNNING, updated_at=utcnow() - timedelta(hours=1))
    db.session.add(job)
    db.session.commit()
    response = coord_client.get(f"/packs/labels/jobs/{job.id}", headers={"HX-Request": "true"})
    assert response.status_code == 286 and "interrupted" in response.get_data(as_text=True)
    assert coord_client.get(f"/packs/labels/jobs/{job.id}/labels.pdf").status_code == 404


def test_order_pages_link_to_the_packs_page(world, staff_client, coord_client):
    link = f'href="/orders/{world.order_a.id}/packs"'
    assert link in staff_client.get(f"/staff/orders/{world.order_a.id}").get_data(as_text=True)
    assert link in coord_client.get(f"/orders/{world.order_a.id}").get_data(as_text=True)
    assert 'href="/staff/packs"' in staff_client.get("/staff/packs").get_data(as_text=True)
