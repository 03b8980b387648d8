"""How long the SOP document takes to render as PDF.

    .venv/bin/python bench/sop_pdf.py [--runs 7] [--configured-db]

By default Django runs against a throwaway SQLite file, migrated and loaded with the SOP files
in fixtures/ (`load_sops`); --configured-db uses DATABASE_URL or the project's SQLite file
instead and renders the SOPs found there. Each SOP is rendered --runs times the way
/sop/<id>/pdf/ does it (read with prefetches, lay out, render with WeasyPrint); the first
round also warms up fonts and templates, so the min/median are the steady state.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="renders per SOP (default 7)")
    parser.add_argument(
        "--configured-db",
        action="store_true",
        help="use the configured database instead of a throwaway SQLite file",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def setup_django(configured_db):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    scratch = None
    if not configured_db:
        scratch = tempfile.TemporaryDirectory(prefix="sopflow-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(scratch.name) / 'bench.sqlite3'}"
    import django

    django.setup()
    if scratch is not None:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("load_sops", stdout=io.StringIO())
    return scratch


def render_once(sop_pk, reader):
    from django.contrib.auth import get_user_model

    from activities.core import access
    from activities.documents import pdf
    from activities.views.sops import pdf_context

    # An unsaved superuser: access sees every unit, as an administrator printing SOPs does.
    user = get_user_model()(is_superuser=True)
    started = time.perf_counter()
    context = pdf_context(access.get_sop_for_user(user, sop_pk))
    laid_out = time.perf_counter()
    content = pdf.render_pdf("reports/sop.html", context)
    finished = time.perf_counter()
    pages = len(reader(io.BytesIO(content)).pages)
    return finished - started, laid_out - started, pages, len(content)


def main():
    args = parse_args()
    scratch = setup_django(args.configured_db)
    try:
        from pypdf import PdfReader

        from activities.models import Sop

        sops = list(Sop.objects.select_related("unit").order_by("unit__short_name", "name"))
        if not sops:
            print("no SOPs in the database")
            return 1
        print(
            f"{'SOP':<58} {'steps':>5} {'pages':>5} {'size':>9} {'median':>9} {'min':>9} {'max':>9} {'layout':>8}"
        )
        for sop in sops:
            totals, layouts = [], []
            for _ in range(args.runs):
                total, layout, pages, size = render_once(sop.pk, PdfReader)
                totals.append(total)
                layouts.append(layout)
            label = f"{sop.unit.short_name} · {sop.name}"[:56] + f" v{sop.version}"
            print(
                f"{label:<58} {sop.steps.count():>5} {pages:>5} {size / 1024:>7.1f}kB"
                f" {statistics.median(totals) * 1000:>7.0f}ms {min(totals) * 1000:>7.0f}ms"
                f" {max(totals) * 1000:>7.0f}ms {statistics.median(layouts) * 1000:>6.1f}ms"
            )
        print(f"{args.runs} renders per SOP; layout = reading the SOP and computing the table")
        return 0
    finally:
        if scratch is not None:
            scratch.cleanup()


if __name__ == "__main__":
    sys.exit(main())
