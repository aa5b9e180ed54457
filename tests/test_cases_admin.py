"""Staff manage cases (with photos), outcome updates and campaigns; the public pages follow."""

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Campaign, Case, CaseStatus, OutcomeUpdate, PackSize
from app.cases import photos, services

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 200


def multipart(fields: dict, file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body with text fields and one file."""
    boundary = "----cardtrail-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    name, filename, content = file
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def uploads(app, tmp_path):
    app.config["UPLOAD_FOLDER"] = str(tmp_path)
    return tmp_path


@pytest.fixture
def current(people):
    return db.session.scalar(sa.select(Campaign).where(Campaign.is_current.is_(True)))


def _case_form(campaign, **extra):
    data = {
        "campaign_id": str(campaign.id), "name": "Ana Example", "slug": "ana-example", "country": "Exampleland",
        "summary": "Jailed for a poem.", "story": "Ana wrote a poem.\n\nShe was arrested.", "ask": "Free Ana.",
        "what_to_write": "Tell Ana she is not alone.", "authority_name": "The Minister", "authority_address": "1 Palace Road\nCapital",
        "solidarity_name": "Ana's family", "solidarity_address": "", "solidarity_address_is_placeholder": "y",
        "target": "5000", "position": "7", "photo_alt": "Ana smiling",
    }
    data.update(extra)
    return data


def test_create_a_case_with_every_field_and_a_photo(staff_client, current, uploads, client):
    data = _case_form(current, photo=(io.BytesIO(JPEG), "ana.jpg"))
    response = staff_client.post("/staff/cases/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)[-3000:]
    case = db.session.scalar(sa.select(Case).where(Case.slug == "ana-example"))
    assert (case.name, case.target, case.position, case.status) == ("Ana Example", 5000, 7, CaseStatus.ACTIVE)
    assert case.authority_address == "1 Palace Road\nCapital" and case.authority_address_is_placeholder is False
    assert case.solidarity_address_is_placeholder is True
    assert re.fullmatch(r"cases/[0-9a-f]{32}\.jpg", case.photo_path)
    assert (uploads / case.photo_path).read_bytes() == JPEG
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.created")).object_id == case.id

    page = client.get("/cases/ana-example").get_data(as_text=True)
    assert f'src="/media/{case.photo_path}"' in page and 'alt="Ana smiling"' in page
    assert "<address>1 Palace Road\nCapital</address>" in page
    photo = client.get(f"/media/{case.photo_path}")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == JPEG
    assert "immutable" in photo.headers["Cache-Control"]
    photo.close()
    home = client.get("/").get_data(as_text=True)
    assert "Ana Example" in home


@pytest.mark.parametrize("content, name, ok", [
    (JPEG, "photo.jpg", "jpg"), (PNG, "photo.png", "png"), (WEBP, "photo.webp", "webp"),
    (PNG, "photo.jpg", "png"),  # the bytes decide, not the name
    (b"GIF89a" + b"\x00" * 50, "photo.gif", None),
    (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "photo.png", None),  # an extension does not make a PNG
    (b"%PDF-1.7 ...", "photo.jpg", None),
    (b"", "empty.jpg", None),
    (JPEG[:3] + b"\x00" * (2 * 1024 * 1024), "big.jpg", None),
])
def test_photo_checks(staff_client, current, uploads, content, name, ok):
    # Raw multipart bytes: the test client would spool a big body to a temporary file it never closes.
    body, content_type = multipart(_case_form(current), ("photo", name, content))
    response = staff_client.post("/staff/cases/new", data=body, content_type=content_type)
    case = db.session.scalar(sa.select(Case).where(Case.slug == "ana-example"))
    if ok:
        assert response.status_code == 303 and case.photo_path.endswith("." + ok)
    else:
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert re.search(r'id="photo-error"[^>]*>[^<]*(JPEG, PNG or WebP|larger than 2 MB|empty)', html)
        assert case is None
        assert not list(uploads.rglob("*.*"))  # nothing half-saved


def test_oversized_request_is_413_not_500(app, staff_client, current, uploads):
    app.config["MAX_CONTENT_LENGTH"] = 3 * 1024 * 1024
    body = b"--xyz\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"huge.jpg\"\r\n\r\n" + JPEG + b"\x00" * (4 * 1024 * 1024)
    response = staff_client.post("/staff/cases/new", data=body, content_type="multipart/form-data; boundary=xyz")
    assert response.status_code == 413
    assert db.session.scalar(sa.select(Case).where(Case.slug == "ana-example")) is None


def test_replace_and_remove_photo(staff_client, current, uploads):
    staff_client.post("/staff/cases/new", data=_case_form(current, photo=(io.BytesIO(JPEG), "a.jpg")), content_type="multipart/form-data")
    case = db.session.scalar(sa.select(Case).where(Case.slug == "ana-example"))
    first = case.photo_path
    response = staff_client.post(f"/staff/cases/{case.id}/edit", data=_case_form(current, photo=(io.BytesIO(PNG), "b.png")),
                                 content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.refresh(case)
    assert case.photo_path != first and case.photo_path.endswith(".png")
    assert not (uploads / first).exists() and (uploads / case.photo_path).exists()
    second = case.photo_path
    staff_client.post(f"/staff/cases/{case.id}/edit", data=_case_form(current, remove_photo="y"), content_type="multipart/form-data")
    db.session.refresh(case)
    assert case.photo_path is None and not (uploads / second).exists()
    assert "case-photo--placeholder" in staff_client.get("/cases/ana-example").get_data(as_text=True)


def test_media_route_serves_only_our_names(client, uploads):
    for bad in ("../instance/config.py", "cases/../../etc/passwd", "cases/abc.jpg", "cases/" + "0" * 32 + ".svg", "x.jpg"):
        assert client.get(f"/media/{bad}").status_code == 404
    assert client.get("/media/cases/" + "0" * 32 + ".jpg").status_code == 404  # our name, but no file


def test_edit_case_changes_every_field_and_audits(staff_client, people, current, uploads):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    form = staff_client.get(f"/staff/cases/{case.id}/edit").get_data(as_text=True)
    assert 'value="sonia-dahmani"' in form and case.story in form
    response = staff_client.post(f"/staff/cases/{case.id}/edit", content_type="multipart/form-data",
                                 data=_case_form(current, name="Sonia Dahmani", slug="sonia-dahmani", target="30000", position="1",
                                                 story="New story."))
    assert response.status_code == 303
    db.session.refresh(case)
    assert (case.target, case.story, case.country) == (30000, "New story.", "Exampleland")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.updated"))
    assert event.before["target"] == 25000 and event.after["target"] == 30000


@pytest.mark.parametrize("field, value, message", [
    ("slug", "Not A Slug!", "lower-case letters"),
    ("slug", "sai-zaw-thaike", "already has this web address"),
    ("name", "", "Enter the name"),
    ("name", "x" * 201, "200 characters"),
    ("story", "x" * 20001, "20000 characters"),
    ("target", "-1", "Enter 0 to 100,000,000"),
    ("target", "1e9", "Not a valid integer"),
    ("target", "999999999999999999999", "Enter 0 to 100,000,000"),
    ("position", "abc", "Not a valid integer"),
    ("position", "10001", "-10,000 to 10,000"),
    ("campaign_id", "424242", "Not a valid choice"),
])
def test_bad_case_input_is_refused_next_to_the_field(staff_client, current, uploads, field, value, message):
    response = staff_client.post("/staff/cases/new", data=_case_form(current, **{field: value}), content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', html), message
    assert db.session.scalar(sa.select(Case).where(Case.name == "Ana Example")) is None


def test_archive_and_restore(staff_client, people, client):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    assert staff_client.post(f"/staff/cases/{case.id}/archive").status_code == 303
    db.session.refresh(case)
    assert case.status is CaseStatus.ARCHIVED
    assert "Sonia Dahmani" not in client.get("/").get_data(as_text=True)
    assert client.get("/cases/sonia-dahmani").status_code == 200  # the page stays
    assert staff_client.post(f"/staff/cases/{case.id}/restore").status_code == 303
    db.session.refresh(case)
    assert case.status is CaseStatus.ACTIVE
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["case.archived", "case.restored"]


def test_outcome_updates_are_posted_shown_and_removed(staff_client, people, client):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    day = date.today() - timedelta(days=2)
    response = staff_client.post(f"/staff/cases/{case.id}/outcomes", data={"happened_on": day.isoformat(), "title": "Released on bail", "body": "Good news."})
    assert response.status_code == 303
    page = client.get("/cases/sonia-dahmani").get_data(as_text=True)
    assert "Released on bail" in page and "Good news." in page and day.strftime("%-d %B %Y") in page
    outcome = db.session.scalar(sa.select(OutcomeUpdate).where(OutcomeUpdate.case_id == case.id))
    assert staff_client.post(f"/staff/cases/{case.id}/outcomes/{outcome.id}/delete").status_code == 303
    assert "Released on bail" not in client.get("/cases/sonia-dahmani").get_data(as_text=True)
    other = db.session.scalar(sa.select(Case).where(Case.slug == "sai-zaw-thaike"))
    assert staff_client.post(f"/staff/cases/{other.id}/outcomes/{outcome.id}/delete").status_code == 404


@pytest.mark.parametrize("data, message", [
    ({"happened_on": "2025-02-30", "title": "x"}, "Not a valid date"),
    ({"happened_on": (date.today() + timedelta(days=2)).isoformat(), "title": "x"}, "between 2000"),
    ({"happened_on": "2025-12-01", "title": ""}, "Give the update a title"),
    ({"happened_on": "2025-12-01", "title": "x" * 201}, "200 characters"),
    ({"happened_on": "2025-12-01", "title": "ok", "body": "x" * 5001}, "5000 characters"),
])
def test_bad_outcome_is_refused(staff_client, people, data, message):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    response = staff_client.post(f"/staff/cases/{case.id}/outcomes", data=data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutcomeUpdate.id)).where(OutcomeUpdate.case_id == case.id)) == 0


def test_case_list_shows_campaign_cases_in_order(staff_client, people, current):
    html = staff_client.get("/staff/cases").get_data(as_text=True)
    names = re.findall(r'<th scope="row"><a href="/staff/cases/\d+">([^<]+)</a>', html)
    expected = db.session.scalars(sa.select(Case.name).where(Case.campaign_id == current.id).order_by(Case.status, Case.position, Case.id)).all()
    assert names == list(expected)
    old = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "w4r-2024"))
    assert "Neth Nahara" in staff_client.get(f"/staff/cases?campaign={old.id}").get_data(as_text=True)
    for odd in ("zzz", "%C2%B2", "99999999999999999999"):
        assert staff_client.get(f"/staff/cases?campaign={odd}").status_code == 200
        assert staff_client.get(f"/staff/cases/new?campaign={odd}").status_code == 200


# --- Campaigns -------------------------------------------------------------------------------------

def test_create_campaign_and_switch_current(staff_client, people, client):
    response = staff_client.post("/staff/campaigns/new", data={
        "name": "Write for Rights 2026", "slug": "w4r-2026", "starts_on": "2026-11-01", "ends_on": "2026-12-31", "pack_sizes": "20, 10 ,20"})
    assert response.status_code == 303
    new = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "w4r-2026"))
    assert new.is_current is False
    assert sorted(db.session.scalars(sa.select(PackSize.cards).where(PackSize.campaign_id == new.id))) == [10, 20]

    assert staff_client.post(f"/staff/campaigns/{new.id}/current").status_code == 303
    current = db.session.scalars(sa.select(Campaign.slug).where(Campaign.is_current.is_(True))).all()
    assert current == ["w4r-2026"]
    assert "Write for Rights 2026" in client.get("/").get_data(as_text=True)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "campaign.made_current"))
    assert event.before == {"current": "w4r-2025"} and event.after == {"current": "w4r-2026"}

    old = db.session.scalar(sa.select(Campaign).where(Campaign.slug == "w4r-2025"))
    services.make_current(old, people.staff)
    assert db.session.scalars(sa.select(Campaign.slug).where(Campaign.is_current.is_(True))).all() == ["w4r-2025"]
    services.make_current(old, people.staff)  # already current: nothing changes
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "campaign.made_current")) == 2


def test_edit_campaign_and_pack_sizes(staff_client, people, current):
    response = staff_client.post(f"/staff/campaigns/{current.id}/edit", data={
        "name": "Write for Rights 2025", "slug": "w4r-2025", "starts_on": "2025-11-01", "ends_on": "2026-01-15", "pack_sizes": "25, 50, 100"})
    assert response.status_code == 303
    db.session.refresh(current)
    assert current.ends_on == date(2026, 1, 15)
    sizes = {ps.cards: ps.active for ps in db.session.scalars(sa.select(PackSize).where(PackSize.campaign_id == current.id))}
    assert sizes == {10: False, 25: True, 50: True, 100: True}


@pytest.mark.parametrize("data, field, message", [
    ({"ends_on": "2025-10-01"}, "ends_on", "cannot end before it starts"),
    ({"starts_on": "1990-01-01"}, "starts_on", "between 2000 and 2100"),
    ({"starts_on": "2025-02-30"}, "starts_on", "Not a valid date"),
    ({"slug": "w4r-2024"}, "slug", "already has this short name"),
    ({"slug": "W4R 2026"}, "slug", "lower-case letters"),
    ({"pack_sizes": "0, 25"}, "pack_sizes", "from 1 to 1,000"),
    ({"pack_sizes": "ten"}, "pack_sizes", "from 1 to 1,000"),
    ({"pack_sizes": ", ,"}, "pack_sizes", "at least one pack size"),
    ({"pack_sizes": "1,2,3,4,5,6,7,8,9,10,11"}, "pack_sizes", "at most 10"),
    ({"name": "x" * 201}, "name", "200 characters"),
])
def test_bad_campaign_input(staff_client, people, data, field, message):
    form = {"name": "W4R 2026", "slug": "w4r-2026", "starts_on": "2026-11-01", "ends_on": "2026-12-31", "pack_sizes": "10"}
    form.update(data)
    response = staff_client.post("/staff/campaigns/new", data=form)
    assert response.status_code == 422
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.get_data(as_text=True))
    assert db.session.scalar(sa.select(Campaign).where(Campaign.slug == "w4r-2026")) is None


def test_photo_sniffing():
    assert photos.sniff(JPEG) == "jpg" and photos.sniff(PNG) == "png" and photos.sniff(WEBP) == "webp"
    assert photos.sniff(b"RIFF\x00\x00\x00\x00WAVE") is None and photos.sniff(b"") is None
