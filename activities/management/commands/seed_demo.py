from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from activities.documents import register
from activities.models import Pegawai, ReferenceItem, ReferenceList, Role, Unit

# username, full name, unit, roles: one demo account for every role of the two seed SOPs.
DEMO_USERS = [
    ("kepala", "Temmy Mulyadi", "Kesbangpol", ["Kepala"]),
    ("kasubag_tu", "Siti Rahmawati", "Kesbangpol", ["Kasubag TU"]),
    ("kasi", "Budi Santoso", "Kesbangpol", ["Kasi"]),
    ("staf", "Dewi Lestari", "Kesbangpol", ["Staf seksi"]),
    ("pengelola", "Agus Salim", "Kesbangpol", ["Pengelola Administrasi Umum"]),
    ("kabid", "Rina Marlina", "Diskominfo", ["Kepala Bidang DIKP"]),
    ("subkor", "Hendra Wijaya", "Diskominfo", ["Sub Kor DIMC"]),
    ("tim", "Fajar Nugroho", "Diskominfo", ["Tim"]),
    ("supir", "Ujang Suherman", "Diskominfo", ["Kernet/Supir"]),
]


# username → (gelar depan, nama, gelar belakang, NIP, pangkat/golongan): the demo officials'
# person records. Made-up NIPs, plausible in form (birth date, TMT, sex, serial).
DEMO_PEOPLE = {
    "kepala": ("", "Temmy Mulyadi", "M.Si.", "196406061985031015", "Pembina Tk.I, IV/b"),
    "kasubag_tu": ("", "Siti Rahmawati", "S.E.", "197502112000032002", "Penata Tk.I, III/d"),
    "kasi": ("", "Budi Santoso", "S.Sos.", "197808172003121001", "Penata Tk.I, III/d"),
    "staf": ("", "Dewi Lestari", "A.Md.", "199001052015032001", "Pengatur Tk.I, II/d"),
    "pengelola": ("", "Agus Salim", "", "198507242010011002", "Pengatur, II/c"),
    "kabid": ("Dr.", "Rina Marlina", "S.Kom., M.Si.", "197911202005012003", "Pembina, IV/a"),
    "subkor": ("", "Hendra Wijaya", "S.T.", "198204092008011004", "Penata, III/c"),
    "tim": ("", "Fajar Nugroho", "S.Kom.", "199203142019031005", "Penata Muda Tk.I, III/b"),
    "supir": ("", "Ujang Suherman", "", "198011302009011006", "Juru Tk.I, I/d"),
}


def demo_person(user, role_names):
    """The demo official's person record, created or brought back to the demo values."""
    front, name, back, nip, rank = DEMO_PEOPLE[user.username]
    Pegawai.objects.filter(nip=nip).exclude(user=user).update(nip=None)
    Pegawai.objects.update_or_create(
        user=user,
        defaults={
            "front_title": front,
            "name": name,
            "back_title": back,
            "nip": nip,
            "rank": rank,
            "position": role_names[0],
            "email": user.email,
        },
    )


# The demo kop surat. The emblem is the project's own neutral placeholder (marked CONTOH), the
# contact details are examples: an office enters its own in /admin/.
DEMO_EMBLEM = "img/lambang-contoh.svg"
DEMO_LETTERHEADS = {
    "Kesbangpol": {
        "letterhead_name": "KANTOR KESATUAN BANGSA DAN POLITIK",
        "address": "Gedung Pusat Pemerintahan Kota Tangerang, Jl. Satria Sudirman No. 1, "
        "Tangerang 15111",
        "phone": "(021) 555-0101",
        "email": "kesbangpol@tangerangkota.example",
        "website": "kesbangpol.tangerangkota.example",
    },
    "Diskominfo": {
        "letterhead_name": "DINAS KOMUNIKASI DAN INFORMATIKA",
        "address": "Gedung Pusat Pemerintahan Kota Tangerang, Jl. Satria Sudirman No. 1, "
        "Tangerang 15111",
        "phone": "(021) 555-0102",
        "email": "diskominfo@tangerangkota.example",
        "website": "diskominfo.tangerangkota.example",
    },
}


# The city's organisation bureau (SOPFLOW_CITY_UNIT's default): the kop and the signatory of a
# period report over several units. It holds no roles or SOPs of its own in the demo.
DEMO_CITY_UNIT = {
    "short_name": "Organisasi",
    "name": "Bagian Organisasi Sekretariat Daerah",
    "letterhead_name": "SEKRETARIAT DAERAH",
    "address": "Gedung Pusat Pemerintahan Kota Tangerang, Jl. Satria Sudirman No. 1, "
    "Tangerang 15111",
    "phone": "(021) 555-0100",
    "email": "organisasi@tangerangkota.example",
    "website": "tangerangkota.example",
    "head_title": "Kepala Bagian Organisasi Sekretariat Daerah Kota Tangerang",
    "head_name": "Drs. Ahmad Fauzi, M.Si.",
    "head_rank": "Pembina Tk.I, IV/b",
    "head_nip": "197003151995031002",
}


def demo_city_unit():
    """Create the demo organisation bureau once; an administrator's changes to it stay."""
    unit, created = Unit.objects.get_or_create(
        short_name=DEMO_CITY_UNIT["short_name"],
        defaults={**DEMO_CITY_UNIT, "parent_name": settings.SOPFLOW_PARENT_GOVERNMENT},
    )
    if created:
        demo_letterhead(unit)
    return unit


def demo_letterhead(unit):
    """Fill in the demo kop of a seed unit, leaving whatever an administrator already set."""
    changed = []
    for name, value in DEMO_LETTERHEADS.get(unit.short_name, {}).items():
        if not getattr(unit, name):
            setattr(unit, name, value)
            changed.append(name)
    if not unit.emblem:
        with open(finders.find(DEMO_EMBLEM), "rb") as handle:
            unit.emblem.save("lambang-contoh.svg", ContentFile(handle.read()), save=False)
        changed.append("emblem")
    if changed:
        unit.save(update_fields=changed)


# The demo reference lists of a unit (the kecamatan and kelurahan of the city come with the
# migrations): examples an office replaces with its own in /admin/.
DEMO_REFERENCE_LISTS = {
    "Kesbangpol": [
        (
            "narasumber",
            "Narasumber sosialisasi",
            "narasumber",
            [
                "Kepala Kantor Kesbangpol",
                "Kepolisian Resor Metro Tangerang Kota",
                "Komando Distrik Militer 0506/Tangerang",
                "Kantor Kementerian Agama Kota Tangerang",
                "Forum Kerukunan Umat Beragama Kota Tangerang",
                "Akademisi perguruan tinggi",
            ],
        ),
        (
            "tempat",
            "Tempat kegiatan",
            "tempat",
            ["Aula Kantor Kesbangpol", "Gedung Pusat Pemerintahan", "Aula kantor kecamatan"],
        ),
    ],
}


def demo_reference_lists():
    """Create the demo reference lists a unit does not have yet; an existing list is left."""
    for short_name, lists in DEMO_REFERENCE_LISTS.items():
        unit = Unit.objects.filter(short_name=short_name).first()
        if unit is None:
            continue
        for slug, name, item_label, items in lists:
            reference, created = ReferenceList.objects.get_or_create(
                unit=unit, slug=slug, defaults={"name": name, "item_label": item_label}
            )
            if created:
                bulk_create_with_history(
                    [
                        ReferenceItem(reference_list=reference, name=item, position=position)
                        for position, item in enumerate(items, start=1)
                    ],
                    ReferenceItem,
                )


class Command(BaseCommand):
    help = (
        "Load the seed SOPs and create demo accounts for every role (and an 'admin' superuser). "
        "Idempotent: existing accounts get their roles and password reset. For demos and tests "
        "only, never for production."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--password", default="sopflow-demo", help="password of every demo account"
        )

    @transaction.atomic
    def handle(self, *args, password, **options):
        call_command("load_sops", stdout=self.stdout)
        register.load_klasifikasi(settings.BASE_DIR / "fixtures" / "klasifikasi-arsip.json")
        User = get_user_model()
        created = 0
        for username, full_name, unit_name, role_names in DEMO_USERS:
            first, _space, last = full_name.partition(" ")
            user, was_created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@{unit_name.lower()}.example",
                },
            )
            user.set_password(password)
            user.save()
            unit = Unit.objects.get(short_name=unit_name)
            user.sop_roles.set(Role.objects.filter(unit=unit, name__in=role_names))
            demo_person(user, role_names)
            created += was_created
        for unit in Unit.objects.filter(short_name__in=DEMO_LETTERHEADS):
            demo_letterhead(unit)
        demo_city_unit()
        demo_reference_lists()
        admin, was_created = User.objects.get_or_create(
            username="admin",
            defaults={"first_name": "Administrator", "email": "admin@sopflow.example"},
        )
        admin.is_staff = admin.is_superuser = True
        admin.set_password(password)
        admin.save()
        created += was_created
        total = len(DEMO_USERS) + 1
        self.stdout.write(f"{total} demo accounts ({created} new), password: {password}")
        self.stdout.write("accounts: " + ", ".join([u[0] for u in DEMO_USERS] + ["admin"]))
