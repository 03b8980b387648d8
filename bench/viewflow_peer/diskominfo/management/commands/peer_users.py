"""Groups (one a role), their permissions (the role's, view; manage for Sub Kor DIMC) and five holders per role; passwords `peer-bench`."""

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand
from django.db import transaction

from diskominfo.models import HOLDERS_PER_ROLE, ROLES, WawaranProcess

PASSWORD = "peer-bench"


class Command(BaseCommand):
    help = __doc__

    @transaction.atomic
    def handle(self, **options):
        User = get_user_model()
        content_type = ContentType.objects.get_for_model(WawaranProcess, for_concrete_model=False)
        password = make_password(PASSWORD)
        for codename, name, prefix in ROLES:
            permission, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": name}
            )
            group, _ = Group.objects.get_or_create(name=name)
            group.permissions.add(permission)
            # viewflow's own pages want the process model's view permission (every role);
            # cancelling wants its manage permission (the role that opens and cancels runs).
            extra = ["view_wawaranprocess"] + (
                ["manage_wawaranprocess"] if codename == "sub_kor_dimc" else []
            )
            group.permissions.add(
                *Permission.objects.filter(content_type=content_type, codename__in=extra)
            )
            for number in range(1, HOLDERS_PER_ROLE + 1):
                user, _ = User.objects.get_or_create(username=f"{prefix}{number}")
                user.first_name = name
                user.last_name = str(number)
                user.email = f"{prefix}{number}@diskominfo.tangerangkota.go.id"
                user.password = password
                user.is_active = True
                user.save()
                user.groups.add(group)
        self.stdout.write(f"{len(ROLES)} groups, {len(ROLES) * HOLDERS_PER_ROLE} users")
