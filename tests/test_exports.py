"""CSV exports: contents against the database, filters, formula neutralisation, streaming."""

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Case, Group, Mailing, Order, OrderStatus, Report
from app.tracking import exports, stats
from app.tracking.filters import Filters
from tests import factories as f
from tests import tracking_data


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def data(people):
    return tracking_data.build(groups=6)


def test_case_summary_equals_the_dashboard(staff_client, data):
    response = staff_client.get("/staff/exports/cases.csv")
    assert response.is_streamed
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="cases-w4r-2025-')
    rows = rows_of(response)
    overview = stats.overview(stats.resolve(Filters()))
    by_slug = {r["slug"]: r for r in rows if r["slug"]}
    for row in overview.rows:
        line = by_slug[row.case.slug]
        assert int(line["cards_ordered"]) == row.totals.ordered
        assert int(line["cards_dispatched"]) == row.totals.dispatched
        assert int(line["cards_reported"]) == row.totals.reported
        assert int(line["cards_mailed"]) == row.totals.mailed
    total = rows[-1]
    assert total["case"] == "Total" and int(total["cards_reported"]) == overview.totals.reported


def test_reports_export_lists_every_report_of_the_campaign(staff_client, data):
    rows = rows_of(staff_client.get("/staff/exports/reports.csv"))
    expected = db.session.execute(sa.text(
        "SELECT r.id, r.cards, r.voided FROM report r JOIN \"case\" c ON c.id = r.case_id JOIN campaign k ON k.id = c.campaign_id "
        "WHERE k.is_current ORDER BY r.id")).all()
    assert [int(r["report_id"]) for r in rows] == [e[0] for e in expected]
    assert [int(r["cards"]) for r in rows] == [e[1] for e in expected]
    assert [r["voided"] for r in rows] == ["yes" if e[2] else "no" for e in expected]
    assert all(len(r["pack_code"]) == 11 and r["pack_code"][4] == "-" for r in rows)


def test_exports_respect_the_filters(staff_client, data):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    url = f"/staff/exports/reports.csv?case={case.id}&country=Ireland&from=2025-11-10&to=2025-12-10"
    rows = rows_of(staff_client.get(url))
    expected = db.session.execute(sa.text(
        'SELECT r.id FROM report r JOIN pack p ON p.id = r.pack_id JOIN order_line ol ON ol.id = p.order_line_id '
        'JOIN "order" o ON o.id = ol.order_id JOIN "group" g ON g.id = o.group_id '
        "WHERE r.case_id = :case AND g.country = 'Ireland' AND r.created_at >= :a AND r.created_at < :b ORDER BY r.id"),
        {"case": case.id, "a": _ts(date(2025, 11, 10)), "b": _ts(date(2025, 12, 11))}).scalars().all()
    assert [int(r["report_id"]) for r in rows] == list(expected)
    assert {r["country"] for r in rows} <= {"Ireland"}

    groups = rows_of(staff_client.get("/staff/exports/groups.csv?region=Wales"))
    assert groups and {g["region"] for g in groups} == {"Wales"}
    wales = db.session.scalar(sa.select(sa.func.count(Group.id)).where(Group.region == "Wales"))
    assert len(groups) == wales

    orders = rows_of(staff_client.get("/staff/exports/orders.csv?type=school"))
    assert orders and {o["group_type"] for o in orders} == {"school"}


def _ts(day: date) -> str:
    return f"{day.isoformat()} 00:00:00" + ("+00" if db.engine.dialect.name == "postgresql" else "")


def test_orders_packs_mailings_groups_exports(staff_client, data):
    orders = rows_of(staff_client.get("/staff/exports/orders.csv"))
    in_db = db.session.scalars(sa.select(Order.id).join(Order.campaign).where(sa.text("campaign.is_current"))).all()
    assert sorted(int(o["order_id"]) for o in orders) == sorted(in_db)
    dispatched = [o for o in orders if o["status"] in ("dispatched", "delivered")]
    assert dispatched and all(o["carrier"] == "Royal Mail" and o["tracking_number"].startswith("RM") for o in dispatched)
    for o in orders:
        order = db.session.get(Order, int(o["order_id"]))
        assert int(o["cards"]) == order.total_cards

    packs = rows_of(staff_client.get("/staff/exports/packs.csv"))
    assert len(packs) == db.session.execute(sa.text(
        'SELECT COUNT(*) FROM pack p JOIN "case" c ON c.id = p.case_id JOIN campaign k ON k.id = c.campaign_id WHERE k.is_current')).scalar()

    mailings = rows_of(staff_client.get("/staff/exports/mailings.csv"))
    assert len(mailings) == db.session.scalar(sa.select(sa.func.count(Mailing.id)).join(Mailing.case).where(Case.campaign.has(is_current=True)))
    assert {m["status"] for m in mailings} == {"prepared", "sent", "delivered", "acknowledged"}

    groups = rows_of(staff_client.get("/staff/exports/groups.csv"))
    alice = next(g for g in groups if g["name"] == "Cardiff Writers")
    assert alice["contact_email"] == "alice@a.example" and alice["address_line1"] == "12 Hidden Road"
    reported_total = sum(int(g["cards_reported"]) for g in groups)
    assert reported_total == stats.overview(stats.resolve(Filters())).totals.reported - _unassigned_reports()


def _unassigned_reports() -> int:
    return int(db.session.execute(sa.text(
        "SELECT COALESCE(SUM(r.cards), 0) FROM report r JOIN pack p ON p.id = r.pack_id WHERE p.order_line_id IS NULL AND NOT r.voided")).scalar())


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR"])
def test_formula_cells_are_neutralised(staff_client, people, payload):
    people.group_a.contact_name = payload
    people.group_a.city = payload
    db.session.commit()
    rows = rows_of(staff_client.get("/staff/exports/groups.csv"))
    alice = next(g for g in rows if g["contact_email"] == "alice@a.example")
    assert alice["contact_name"] == "'" + payload
    assert alice["city"] == "'" + payload


def test_cell_formatting():
    assert exports.cell(-5) == -5  # numbers stay numbers
    assert exports.cell("-5") == "'-5"
    assert exports.cell("plain") == "plain"
    assert exports.cell(None) == ""
    assert exports.cell(True) == "yes"
    assert exports.cell(date(2025, 12, 1)) == "2025-12-01"
    assert exports.cell(OrderStatus.DISPATCHED) == "dispatched"


def test_large_exports_stream_in_chunks(app, staff_client, people):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    order = f.order(case.campaign, people.group_a, [(case, 120, 10)], status=OrderStatus.DISPATCHED)
    for _ in range(1200):
        f.pack(case, 10, line=order.lines[0])
    db.session.commit()
    response = staff_client.get("/staff/exports/packs.csv")
    assert response.is_streamed
    chunks = list(response.response)
    assert len(chunks) >= 3  # written a few hundred rows at a time, not built whole
    assert sum(chunk.count("\n") if isinstance(chunk, str) else chunk.count(b"\n") for chunk in chunks) == 1201


def test_unknown_export_is_404(staff_client, people):
    assert staff_client.get("/staff/exports/passwords.csv").status_code == 404


def test_exports_count_only_unvoided_reports_in_the_summary(staff_client, people):
    case = db.session.scalar(sa.select(Case).where(Case.slug == "sonia-dahmani"))
    order = f.order(case.campaign, people.group_a, [(case, 1, 25)], status=OrderStatus.DISPATCHED)
    pack = f.pack(case, 25, line=order.lines[0], posted=5)
    f.report(pack, 5)
    f.report(pack, 9, voided=True)
    db.session.commit()
    rows = rows_of(staff_client.get(f"/staff/exports/cases.csv?case={case.id}"))
    assert rows[0]["slug"] == "sonia-dahmani" and rows[0]["cards_reported"] == "5"
    reports = rows_of(staff_client.get(f"/staff/exports/reports.csv?case={case.id}"))
    assert sorted(r["cards"] for r in reports) == ["5", "9"]
    assert db.session.scalar(sa.select(sa.func.count(Report.id))) == 2
