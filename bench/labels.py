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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    items = [
        labels.PackLabel(i, new_token(), new_code(), "Sonia Dahmani", "Free Sonia Dahmani, jailed for speaking out.", 25)
        for i in range(args.labels)
    ]
    start = time.perf_counter()
    for item in items:
        qr.pack_matrix(item.token, BASE_URL)
    per_symbol = (time.perf_counter() - start) / len(items) * 1000
    print(f"QR symbol (level Q, mask chosen): {per_symbol:.2f} ms each")
    for key in [("3x8", "a4"), ("2x4", "a4"), ("insert", "a4"), ("3x8", "letter")]:
        template = labels.get_template(*key)
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            pdf = labels.render_labels(items, template, base_url=BASE_URL)
            best = min(best, time.perf_counter() - start)
        print(f"{key[0]:>6} {key[1]:<6}: {args.labels} labels in {best:.2f} s = {args.labels / best:,.0f} labels/s,"
              f" {len(pdf) / 1024:,.0f} KiB")


if __name__ == "__main__":
    main()
