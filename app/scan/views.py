"""The staff scan station: scan returned packs and tally slips, enter counts, undo."""

from __future__ import annotations

from flask import Blueprint, abort, flash, get_flashed_messages, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.decorators import staff_required
from ..htmx import render, wants_fragment
from ..models import ReportSource
from ..packs.codes import format_code
from ..reports import services as reports
from ..reports.forms import new_idempotency_key
from . import services
from .forms import ScanForm, ScanReportForm

bp = Blueprint("scan", __name__, url_prefix="/staff/scan")

UNDO_REASON = "undone at scan station"


def _me():
    return current_user._get_current_object()


def _station(status: int = 200, notices: list[tuple[str, str]] | None = None, **context):
    """The station page, or for htmx its working area (#station) with the status region's new text
    out of band. `notices` are (category, text) pairs: "error" ones go to the alert region."""
    context.setdefault("lookup", None)
    context.setdefault("form", None)
    if notices is None:
        notices = [] if wants_fragment() else get_flashed_messages(with_categories=True)
    response = render(
        "scan/station.html", "scan/_station_swap.html", status_code=status,
        recent=services.recent_scans(), notices=notices, **context,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _report_form_for(lookup) -> ScanReportForm | None:
    if lookup is None or lookup.pack is None:
        return None
    return ScanReportForm(formdata=None, pack_id=lookup.pack.id, idempotency_key=new_idempotency_key())


@bp.get("")
@staff_required
def station():
    """The scan station; `?q=` is whatever the scanner typed: the pack it names is shown with a count field."""
    scan = ScanForm(request.args)
    text = (scan.q.data or "").strip() if scan.validate() else ""
    lookup = services.lookup(text) if text else None
    return _station(lookup=lookup, form=_report_form_for(lookup))


@bp.get("/feed")
@staff_required
def feed():
    """The live list of recent scans (polled by the station)."""
    return render_template("scan/_feed.html", recent=services.recent_scans())


@bp.post("/report")
@staff_required
def record():
    """Record the count for the scanned pack (source: scan)."""
    form = ScanReportForm()
    pack = services.get_pack(form.pack_id.data) if form.pack_id.data else None
    if pack is None:
        abort(404)
    if form.validate_on_submit():
        try:
            recorded = reports.record_report(pack, form.cards.data, ReportSource.SCAN, form.idempotency_key.data, actor=_me())
        except reports.ReportError as error:
            form.cards.errors.append(str(error))
        else:
            r = recorded.report
            message = (f"Already recorded: {r.cards} cards for pack {format_code(pack.code)} (counted once)." if recorded.replayed
                       else f"Recorded {r.cards} card{'s' if r.cards != 1 else ''} for pack {format_code(pack.code)} ({pack.case.name}).")
            if not wants_fragment():
                flash(message, "success")
                return redirect(url_for("scan.station"), code=303)
            return _station(notices=[("success", message)], recorded_id=r.id)
    lookup = services.lookup(pack.code)
    lookup.text = ""
    refused = f"Not recorded for pack {format_code(pack.code)}: {' '.join(form.cards.errors) or 'check the count and try again.'}"
    return _station(status=422, notices=[("error", refused)], lookup=lookup, form=form)


@bp.post("/<int:report_id>/undo")
@staff_required
def undo(report_id: int):
    """Undo a scan: void its report ("undone at scan station")."""
    report = reports.get_report(report_id)
    if report is None or report.source is not ReportSource.SCAN:
        abort(404)
    try:
        reports.void_report(report, _me(), UNDO_REASON)
    except reports.ReportError as error:
        message, category = str(error), "error"
    else:
        message, category = f"Undone: {report.cards} cards for pack {format_code(report.pack.code)} no longer count.", "success"
    if not wants_fragment():
        flash(message, category)
        return redirect(url_for("scan.station"), code=303)
    return _station(notices=[(category, message)])
