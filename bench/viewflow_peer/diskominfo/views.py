from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def floor(request):
    """The floor: the session and the user read, "ok" (as sopflow's /bench/floor-user/)."""
    return HttpResponse(
        "ok" if request.user.is_authenticated else "anon", content_type="text/plain"
    )
