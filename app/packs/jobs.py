"""Label PDFs: rendered at once when small, in a background thread when big.

A web worker renders at most `LABELS_SYNC_LIMIT` labels itself (default 1,500: under two seconds at
~850 labels/s). Bigger runs become a `LabelJob` row and a daemon thread writes the PDF to
`instance/labels/`, reporting progress every 100 labels; the page polls the job with htmx. A job whose
thread died with its process (a restart) stops updating and is shown as interrupted after
`STALE_AFTER`. Files older than a day are removed when a new job starts.

Services own their transactions: `start_label_job` commits the job row before the thread starts.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Optional

import sqlalchemy as sa
from flask import Flask, current_app

from ..extensions import db
from ..models import LabelJob, LabelJobStatus, User, utcnow
from . import labels
from .services import Selection, label_items

log = logging.getLogger(__name__)

DEFAULT_SYNC_LIMIT = 1500
STALE_AFTER = timedelta(minutes=5)
KEEP_FILES_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SheetOptions:
    """How to print: template, paper, first position on a part-used sheet, copies per pack."""

    layout: str = "3x8"
    paper: str = "a4"
    start_at: int = 1
    copies: int = 1

    @property
    def template(self) -> labels.Template:
        return labels.get_template(self.layout, self.paper)

    def as_dict(self) -> dict:
        return {"layout": self.layout, "paper": self.paper, "start_at": self.start_at, "copies": self.copies}

    @classmethod
    def from_dict(cls, data: dict) -> SheetOptions:
        return cls(layout=data["layout"], paper=data["paper"], start_at=int(data["start_at"]), copies=int(data["copies"]))


def sync_limit() -> int:
    return int(current_app.config.get("LABELS_SYNC_LIMIT", DEFAULT_SYNC_LIMIT))


def labels_dir(app: Flask) -> str:
    path = os.path.join(app.instance_path, "labels")
    os.makedirs(path, exist_ok=True)
    return path


def render_now(selection: Selection, options: SheetOptions, group_id: Optional[int], base_url: str) -> bytes:
    """The label PDF, rendered in this thread (for selections up to `sync_limit()` labels)."""
    items = label_items(selection, group_id)
    pdf = labels.render_labels(items, options.template, base_url=base_url, start_at=options.start_at,
                               copies=options.copies)
    if pdf is None:
        raise RuntimeError("label rendering produced no PDF")
    return pdf


def start_label_job(selection: Selection, options: SheetOptions, user: User, total: int) -> LabelJob:
    """Record a job for `user` (coordinators: limited to their group's packs), commit, start its thread."""
    job = LabelJob(
        created_by_id=user.id,
        group_id=None if user.is_staff else user.group_id,
        params={"selection": selection.as_dict(), "options": options.as_dict()},
        total=total,
    )
    db.session.add(job)
    db.session.commit()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    _remove_old_files(app)
    threading.Thread(target=run_label_job, args=(app, job.id), name=f"label-job-{job.id}", daemon=True).start()
    return job


def _set(job_id: int, **values) -> None:
    db.session.execute(sa.update(LabelJob).where(LabelJob.id == job_id).values(updated_at=utcnow(), **values))
    db.session.commit()


def run_label_job(app: Flask, job_id: int) -> None:
    """The thread body: render the job's PDF to instance/labels/, updating progress as it goes."""
    with app.app_context():
        try:
            job = db.session.get(LabelJob, job_id)
            if job is None:
                return
            selection = Selection.from_dict(job.params["selection"])
            options = SheetOptions.from_dict(job.params["options"])
            group_id = job.group_id
            _set(job_id, status=LabelJobStatus.RUNNING, done=0)
            items = label_items(selection, group_id)
            total = len(items) * options.copies
            _set(job_id, total=total)
            filename = f"labels-{job_id}-{secrets.token_hex(8)}.pdf"
            path = os.path.join(labels_dir(app), filename)
            with open(path + ".part", "wb") as out:
                labels.render_labels(items, options.template, base_url=app.config["BASE_URL"],
                                     start_at=options.start_at, copies=options.copies, out=out,
                                     progress=lambda done, _total: _set(job_id, done=done))
            os.replace(path + ".part", path)
            _set(job_id, status=LabelJobStatus.DONE, done=total, filename=filename, finished_at=utcnow())
        except Exception:  # the job must end in a state people can see, whatever went wrong
            log.exception("label job %s failed", job_id)
            db.session.rollback()
            _set(job_id, status=LabelJobStatus.FAILED, error="The labels could not be generated. Please try again.",
                 finished_at=utcnow())
        finally:
            db.session.remove()


def job_for(user: User, job_id: int) -> Optional[LabelJob]:
    """The job if this user may see it: staff see every job, a coordinator only their own (else None → 404)."""
    job = db.session.get(LabelJob, job_id)
    if job is None or (not user.is_staff and job.created_by_id != user.id):
        return None
    return job


def is_interrupted(job: LabelJob) -> bool:
    """True for a job that stopped updating while unfinished (its process ended)."""
    return job.status in (LabelJobStatus.QUEUED, LabelJobStatus.RUNNING) and job.updated_at < utcnow() - STALE_AFTER


def job_file(app: Flask, job: LabelJob) -> Optional[str]:
    """The finished PDF's path, or None."""
    if job.status is not LabelJobStatus.DONE or not job.filename:
        return None
    path = os.path.join(labels_dir(app), job.filename)
    return path if os.path.exists(path) else None


def _remove_old_files(app: Flask) -> None:
    cutoff = time.time() - KEEP_FILES_SECONDS
    directory = labels_dir(app)
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        try:
            if name.startswith("labels-") and os.path.getmtime(path) < cutoff:
                os.remove(path)
        except OSError:  # pragma: no cover - removed by another worker meanwhile
            pass
