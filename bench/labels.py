"""Label-generation benchmark: 1,000 distinct packs on each template, QR built per pack, as the app does.

    .venv/bin/python bench/labels.py [--labels 1000] [--repeat 3]

Prints labels per second per template (best of --repeat runs) and the time per QR symbol.
No database: the renderer takes plain values, so this measures QR building and PDF drawing only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app.packs import labels, qr  # noqa: E402
from app.packs.codes import new_code, new_token  # noqa: E402

BASE_URL = "https://cards.example.org"


GOAL_LABELS_PER_S = 500  # 1,000 labels in at most 2 s
TEMPLATES = [("3x8", "a4"), ("2x4", "a4"), ("insert", "a4"), ("3x8", "letter")]


def measure(count: int = 1000, repeat: int = 3) -> tuple[float, list[tuple[str, str, float, int]]]:
    """(ms per QR symbol, [(layout, paper, best seconds, PDF bytes)]) for `count` distinct packs."""
    items = [
        labels.PackLabel(i, new_token(), new_code(), "Sonia Dahmani", "Free Sonia Dahmani, jailed for speaking out.", 25)
        for i in range(count)
    ]
    start = time.perf_counter()
    for item in items:
        qr.pack_matrix(item.token, BASE_URL)
    per_symbol = (time.perf_counter() - start) / len(items) * 1000
    rows = []
    for key in TEMPLATES:
        template = labels.get_template(*key)
        best, best_cpu, size = float("inf"), float("inf"), 0
        for _ in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            pdf = labels.render_labels(items, template, base_url=BASE_URL)
            best = min(best, time.perf_counter() - start)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
            size = len(pdf)
        rows.append((key[0], key[1], best, size, best_cpu))
    return per_symbol, rows


def run(quick: bool = False) -> str:
    """The label benchmark as a Markdown section (for `python -m bench`)."""
    count, repeat = (300, 1) if quick else (1000, 3)
    per_symbol, rows = measure(count, repeat)
    lines = [
        "## Label PDFs (`bench/labels.py`)",
        "",
        f"{count:,} distinct packs per sheet (one QR symbol built per pack, as in production), best of {repeat},"
        " no database.",
        "",
        "| what | result | goal | | by CPU time |",
        "|---|---:|---:|---|---:|",
        f"| one QR symbol, level Q, mask chosen | {per_symbol:.2f} ms | — | | |",
    ]
    for layout, paper, seconds, size, cpu in rows:
        rate = count / seconds
        lines.append(f"| {layout} {paper} sheet, {count:,} labels | {seconds:.2f} s = {rate:,.0f} labels/s, "
                     f"{size / 1024:,.0f} KiB | ≥ {GOAL_LABELS_PER_S} labels/s | "
                     f"{'met' if rate >= GOAL_LABELS_PER_S else 'missed'} | {count / cpu:,.0f} labels/s |")
    lines += ["", "Goal checked on elapsed time; the last column (this process's CPU time) shows what the same"
              " run gives when the machine is not shared."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    per_symbol, rows = measure(args.labels, args.repeat)
    print(f"QR symbol (level Q, mask chosen): {per_symbol:.2f} ms each")
    for layout, paper, best, size, _cpu in rows:
        print(f"{layout:>6} {paper:<6}: {args.labels} labels in {best:.2f} s = {args.labels / best:,.0f} labels/s,"
              f" {size / 1024:,.0f} KiB")


if __name__ == "__main__":
    main()
