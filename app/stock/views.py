"""Card stock per case: overview, print runs, adjustments and the ledger."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from ..auth.decorators import staff_required
from . import services
from .forms import AdjustForm, PrintRunForm

bp = Blueprint("stock", __name__, url_prefix="/staff/stock")


def _case_or_404(case_id: int):
    case = services.get_case(case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/")
@staff_required
def overview():
    """Printed, reserved and available cards per case, with low-stock warnings."""
    return render_template("stock/overview.html", rows=services.overview(), threshold=services.low_stock_threshold())


@bp.get("/<int:case_id>")
@staff_required
def case_stock(case_id: int):
    """One case's stock and its ledger."""
    case = _case_or_404(case_id)
    return _case_page(case, PrintRunForm(), AdjustForm())


def _case_page(case, run_form, adjust_form, status: int = 200):
    return render_template("stock/case.html", case=case, movements=services.movements(case),
                           run_form=run_form, adjust_form=adjust_form), status


@bp.post("/<int:case_id>/print-runs")
@staff_required
def add_print_run(case_id: int):
    """Record cards delivered by the printer."""
    case = _case_or_404(case_id)
    form = PrintRunForm()
    if form.validate_on_submit():
        services.record_print_run(case, form.cards.data, form.printer.data or "", form.note.data or "", current_user._get_current_object())
        flash(f"Added {form.cards.data:,} cards to {case.name}.", "success")
        return redirect(url_for("stock.case_stock", case_id=case.id), code=303)
    return _case_page(case, form, AdjustForm(), 422)


@bp.post("/<int:case_id>/adjustments")
@staff_required
def adjust(case_id: int):
    """Correct the stock up or down, with a reason."""
    case = _case_or_404(case_id)
    form = AdjustForm()
    if form.validate_on_submit():
        try:
            services.adjust(case, form.quantity.data, form.note.data, current_user._get_current_object())
        except services.StockError as error:
            form.quantity.errors.append(str(error))
        else:
            flash(f"Stock of {case.name} adjusted by {form.quantity.data:+,}.", "success")
            return redirect(url_for("stock.case_stock", case_id=case.id), code=303)
    return _case_page(case, PrintRunForm(), form, 422)
