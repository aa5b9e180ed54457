"""The scan station: make sense of whatever a scanner typed, find the pack, list recent scans.

USB keyboard-wedge scanners "type" what they read. When the scanner's and the computer's keyboard
layouts differ, punctuation comes out garbled (`:` as `Ö`, `/` as `-` or `&`…) or not at all; only
A–Z and 0–9 are reliable. So we never parse the text as a URL: we look for the symbols that matter.

- A pack URL ends with the 26-symbol token: the last run of letters and digits of at least 26 symbols,
  of which we take the last 26 (when separators were lost, the run also holds "P" and the host).
- Otherwise a short code: all the letters and digits, if there are 9; else the last 9, if their check
  symbol agrees (a code with a prefix or junk before it).
Crockford's reading applies everywhere: any case, I and L read as 1, O as 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..models import Order, OrderLine, Pack, Report, ReportSource
from ..packs import codes

MAX_SCAN_LENGTH = 300
_RUN = re.compile(r"[0-9A-Za-z]+")  # ASCII only: "Ö", "é"… typed for punctuation separate runs


@dataclass(frozen=True)
class ScanText:
    """What a scan might name: a token, a short code, or a reason it names neither."""

    token: Optional[str] = None
    code: Optional[str] = None
    problem: str = ""


def parse_scan(text: str) -> ScanText:
    """Extract a pack token or short code from messy scanner input (a URL in any case, a code…)."""
    text = (text or "")[:MAX_SCAN_LENGTH]
    runs = [codes.normalise(run) for run in _RUN.findall(text)]
    if not runs:
        return ScanText(problem="Nothing to read: scan a pack's QR code or type its code.")
    for run in reversed(runs):
        if len(run) >= codes.TOKEN_LENGTH:
            return ScanText(token=run[-codes.TOKEN_LENGTH:])
    symbols = "".join(runs)
    if len(symbols) == codes.CODE_LENGTH:
        try:
            return ScanText(code=codes.parse_code(symbols))
        except codes.CheckSymbolMismatch as error:
            return ScanText(problem=f"{codes.format_code(symbols)}: {error} (or it was misread: scan again).")
    if len(symbols) > codes.CODE_LENGTH:
        try:
            return ScanText(code=codes.parse_code(symbols[-codes.CODE_LENGTH:]))
        except codes.InvalidCode:
            pass
    return ScanText(problem="That is neither a pack link nor a pack code: scan again, or type the code.")


@dataclass
class ScanLookup:
    """The result of a scan: the pack (or why not), and earlier scans of it, which we flag."""

    text: str
    pack: Optional[Pack] = None
    problem: str = ""
    earlier_scans: list[Report] = field(default_factory=list)

    @property
    def group_name(self) -> str:
        line = self.pack.order_line if self.pack else None
        return line.order.group.name if line else ""


def lookup(text: str) -> ScanLookup:
    """Find the pack a scan names, with its earlier (still counting) scan-station reports."""
    parsed = parse_scan(text)
    result = ScanLookup(text=(text or "").strip()[:80], problem=parsed.problem)
    if parsed.problem:
        return result
    query = sa.select(Pack).options(
        so.joinedload(Pack.case),
        so.joinedload(Pack.order_line).joinedload(OrderLine.order).joinedload(Order.group),
    )
    if parsed.token:
        pack = db.session.scalar(query.where(Pack.token == parsed.token))
        if pack is None:
            result.problem = "No pack has this QR code (it may have been reissued)."
    else:
        pack = db.session.scalar(query.where(Pack.code == parsed.code))
        if pack is None:
            result.problem = f"No pack has the code {codes.format_code(parsed.code)}."
    result.pack = pack
    if pack is not None:
        result.earlier_scans = earlier_scans(pack)
    return result


def earlier_scans(pack: Pack) -> list[Report]:
    """This pack's counting reports from the scan station, newest first."""
    return list(
        db.session.scalars(
            sa.select(Report)
            .where(Report.pack_id == pack.id, Report.source == ReportSource.SCAN, Report.voided.is_(False))
            .order_by(Report.id.desc())
        )
    )


def recent_scans(limit: int = 15, since: Optional[datetime] = None) -> list[Report]:
    """The latest scan-station reports (voided ones too, marked), newest first."""
    query = (
        sa.select(Report)
        .options(so.joinedload(Report.pack).joinedload(Pack.case))
        .where(Report.source == ReportSource.SCAN)
        .order_by(Report.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Report.created_at >= since)
    return list(db.session.scalars(query))


def get_pack(pack_id: int) -> Optional[Pack]:
    return db.session.get(Pack, pack_id)
