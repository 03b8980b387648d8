"""How long the laporan PDFs take: a finished SOP 1 run with 10 phone photos, and the laporan
arsip of a period with 500 finished runs.

Builds its own throw-away database and media folder, so it never touches your data:

    PYTHONPATH=. .venv/bin/python bench/laporan.py [--photos 10] [--runs 500] [--repeat 5]

Targets: the laporan under 2 s, the laporan arsip under 10 s (median of the renders).
"""

import argparse
import datetime
import io
import os
import random
import statistics
import sys
import tempfile
import time
import zoneinfo

WIB = zoneinfo.ZoneInfo("Asia/Jakarta")
PERFORMERS = {
    "Kasi": "kasi",
    "Kepala": "kepala",
    "Staf seksi": "staf",
    "Kasubag TU": "kasubag_tu",
    "Pengelola Administrasi Umum": "pengelola",
}


def setup_django(folder):
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{folder}/media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Notifications go nowhere: this measures PDFs, not mail.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))


def phone_photo(seed):
    """A 4000×3000 JPEG of 3–5 MB: gradients under coarse noise, like a detailed photo."""
    from PIL import Image

    width, height = 4000, 3000
    rng = random.Random(seed)
    noise = Image.effect_noise((width // 2, height // 2), 30 + rng.randint(0, 20))
    gradient = Image.linear_gradient("L")
    channels = (
        gradient.resize((width, height)),
        noise.resize((width, height)),
        gradient.rotate(rng.choice([90, 180, 270])).resize((width, height)),
    )
    buffer = io.BytesIO()
    Image.merge("RGB", channels).save(buffer, "JPEG", quality=78 + rng.randint(0, 6))
    return buffer.getvalue()


def median_time(function, repeat):
    """Median wall-clock seconds of `repeat` calls, the wall times, and the median CPU seconds
    (which a busy machine does not inflate)."""
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(times), times, statistics.median(cpu)


def finished_run_with_photos(photo_count):
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from activities.core import uploads, workflow
    from activities.models import Sop

    users = {user.username: user for user in get_user_model().objects.all()}
    sop = Sop.objects.get(unit__short_name="Kesbangpol", version=1)
    start = datetime.datetime(2026, 10, 5, 8, 0, tzinfo=WIB)
    now = start + datetime.timedelta(days=30)
    run = workflow.open_run(
        sop=sop,
        user=users["kasi"],
        title="Sosialisasi Wawasan Kebangsaan bagi Pelajar",
        scheduled_on=start.date(),
        place="Aula Kecamatan Ciledug",
        notes="Peserta 120 pelajar",
        now=start,
    )
    photos = [
        SimpleUploadedFile(f"IMG_{n:04d}.jpg", phone_photo(n), content_type="image/jpeg")
        for n in range(photo_count)
    ]
    sizes = [photo.size / 1e6 for photo in photos]
    started = time.perf_counter()
    attachments = uploads.validate_uploads(photos)
    validate_seconds = time.perf_counter() - started
    moment = start
    for step in sop.steps.prefetch_related("roles").order_by("number"):
        user = users[PERFORMERS[step.roles.all()[0].name]]
        done = moment + datetime.timedelta(minutes=min(step.standard_minutes, 120))
        times = {"started_at": moment, "completed_at": done, "now": now}
        if step.is_approval:
            workflow.approve_step(
                run_id=run.pk, number=step.number, user=user, instruction="Lanjutkan", **times
            )
        else:
            workflow.complete_step(
                run_id=run.pk,
                number=step.number,
                user=user,
                output=step.output,
                attachments=attachments if step.number == 12 else (),
                **times,
            )
        moment = done
    return run, sizes, validate_seconds


def bulk_finished_runs(count):
    """`count` finished SOP 1 runs written straight to the database (the workflow would take
    minutes); step times are spread realistically, some late, across three months."""
    from django.contrib.auth import get_user_model

    from activities.models import Run, Sop, StepRun

    kasi = get_user_model().objects.get(username="kasi")
    sop = Sop.objects.get(unit__short_name="Kesbangpol", version=1)
    steps = list(sop.steps.order_by("number"))
    rng = random.Random(7)
    first_day = datetime.datetime(2026, 7, 1, 8, 0, tzinfo=WIB)
    runs = []
    for n in range(count):
        opened = first_day + datetime.timedelta(
            days=rng.randint(0, 88), minutes=rng.randint(0, 300)
        )
        runs.append(
            Run(
                sop=sop,
                unit=sop.unit,
                title=f"Sosialisasi {n:03d}",
                scheduled_on=opened.date(),
                place=f"Kelurahan {n % 13}",
                opened_by=kasi,
                opened_at=opened,
                status=Run.Status.FINISHED,
            )
        )
    Run.objects.bulk_create(runs)
    step_runs = []
    for run in runs:
        moment = run.opened_at
        for step in steps:
            length = step.standard_minutes * rng.uniform(0.5, 1.4)
            done = moment + datetime.timedelta(minutes=min(length, 600))
            step_runs.append(
                StepRun(
                    run=run,
                    step=step,
                    state=StepRun.State.DONE,
                    activated_at=moment,
                    started_at=moment,
                    completed_at=done,
                    completed_by=kasi,
                )
            )
            moment = done
        run.finished_at = moment
    StepRun.objects.bulk_create(step_runs, batch_size=2000)
    Run.objects.bulk_update(runs, ["finished_at"], batch_size=500)
    return sop.unit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=10)
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sopflow-bench-") as folder:
        setup_django(folder)
        from activities.documents import archive, laporan

        run, sizes, validate_seconds = finished_run_with_photos(options.photos)
        print(
            f"photos: {len(sizes)} × {min(sizes):.1f}–{max(sizes):.1f} MB, "
            f"validated and scaled in {validate_seconds:.2f} s "
            f"({validate_seconds / max(len(sizes), 1):.2f} s each)"
        )
        pdf = laporan.render_run_report(run.pk)  # warms fonts and templates
        median, times, cpu = median_time(lambda: laporan.render_run_report(run.pk), options.repeat)
        verdict = "OK" if median < 2 else "SLOW"
        print(
            f"laporan kegiatan ({len(pdf) / 1e6:.2f} MB PDF): median {median:.2f} s "
            f"of {[round(t, 2) for t in times]} (CPU {cpu:.2f} s) — target < 2 s: {verdict}"
        )

        unit = bulk_finished_runs(options.runs)
        period = (datetime.date(2026, 7, 1), datetime.date(2026, 12, 31))
        started = time.perf_counter()
        report = archive.build_archive_report([unit], *period)
        build_seconds = time.perf_counter() - started
        pdf = archive.render_archive_report([unit], *period)
        repeat = max(1, min(options.repeat, 3))
        median, times, cpu = median_time(
            lambda: archive.render_archive_report([unit], *period), repeat
        )
        verdict = "OK" if median < 10 else "SLOW"
        print(
            f"laporan arsip, {report.finished} runs ({len(pdf) / 1e6:.2f} MB PDF): data in "
            f"{build_seconds:.2f} s; median {median:.2f} s of {[round(t, 2) for t in times]} "
            f"(CPU {cpu:.2f} s) — target < 10 s: {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
