"""How long importing SOP documents takes: each seed text, and a folder of 50 generated DOCX.

    .venv/bin/python bench/import_sops.py [--runs 7] [--folder-size 50]

Django runs against a throwaway SQLite file, migrated and loaded with fixtures/. Each seed text
is imported --runs times the way /sop/impor/ does it (parse, propose, write the draft with its
review notes); then a folder of generated DOCX files in the official layout, 5 to 30 steps each,
is imported with `manage.py import_sops`, the way an office onboards its SOPs.
"""

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = {
    "Kesbangpol": "000_a0ad7d7594363d18.txt",
    "Diskominfo": "002_89da76ed8ceb7793.txt",
}


def setup_django(scratch):
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sopflow.settings")
    os.environ["DATABASE_URL"] = f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_sops", stdout=io.StringIO())


def generated_sop(rng, index, roles):
    steps = []
    count = rng.randint(5, 30)
    for number in range(1, count + 1):
        kind = "start" if number == 1 else "end" if number == count else "process"
        if kind == "process" and number > 2 and rng.random() < 0.2:
            kind = "decision"
        step = {
            "number": number,
            "roles": rng.sample(roles, 2 if rng.random() < 0.1 else 1),
            "kind": kind,
            "activity": f"Aktivitas {number} SOP uji {index}: menyiapkan dan memeriksa berkas",
            "requirements": "Komputer, ATK dan berkas permohonan",
            "standard": f"{rng.choice([5, 10, 15, 30, 60])} {rng.choice(['Menit', 'menit'])}"
            if rng.random() < 0.9
            else "1 hari",
            "output": f"Hasil langkah {number}",
            "remarks": "",
        }
        if kind == "decision":
            step["return_to"] = number - 1
        steps.append(step)
    return {
        "unit": {"name": "Unit Uji", "parent_name": "Pemerintah Kota Tangerang"},
        "roles": [{"name": name, "kind": "member"} for name in roles],
        "sop": {
            "name": f"SOP Uji Nomor {index}",
            "number": f"{index:03d}/UJI/2026",
            "approver_title": "KEPALA DINAS",
            "approver_name": "NAMA PEJABAT, S.Sos",
            "approver_rank": "Pembina, IV/a",
            "approver_nip": "196406061985031015",
        },
        "sections": {"legal_basis": ["Perwal No. 1 Tahun 2026"], "equipment": ["Komputer"]},
        "steps": steps,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--folder-size", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopflow-bench-") as scratch:
        setup_django(scratch)
        from django.core.management import call_command

        from activities.authoring import importers
        from activities.models import Unit

        seeds = Path("/work/shared/seeds")
        if not seeds.exists():
            seeds = ROOT / "tests" / "data"
        print("| source | steps | notes | median | min | max |")
        print("| --- | --- | --- | --- | --- | --- |")
        for unit_name, filename in SEEDS.items():
            unit = Unit.objects.get(short_name=unit_name)
            text = (seeds / filename).read_text(encoding="utf-8")
            times = []
            for _run in range(args.runs):
                started = time.perf_counter()
                result = importers.import_source(unit, text=text)
                times.append(time.perf_counter() - started)
            print(
                f"| seed text {unit_name} | {result.sop.steps.count()} | {result.notes} "
                f"| {statistics.median(times) * 1000:.0f} ms | {min(times) * 1000:.0f} ms "
                f"| {max(times) * 1000:.0f} ms |"
            )

        rng = random.Random(11)
        folder = Path(scratch) / "sop-folder"
        folder.mkdir()
        roles = ["Kepala", "Kasubag TU", "Kasi", "Staf seksi", "Pengelola Administrasi Umum"]
        total_steps = 0
        for index in range(1, args.folder_size + 1):
            data = generated_sop(rng, index, roles)
            total_steps += len(data["steps"])
            (folder / f"sop-{index:03d}.docx").write_bytes(importers.write_docx(data))
        out = io.StringIO()
        started = time.perf_counter()
        call_command("import_sops", str(folder), unit="Kesbangpol", no_progress=True, stdout=out)
        elapsed = time.perf_counter() - started
        summary = next(line for line in out.getvalue().splitlines() if " files: " in line)
        print()
        print(
            f"folder of {args.folder_size} generated DOCX ({total_steps} steps): "
            f"{elapsed:.2f} s in all, {elapsed / args.folder_size * 1000:.0f} ms per SOP"
        )
        print(f"import_sops: {summary}")


if __name__ == "__main__":
    main()
