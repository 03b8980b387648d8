"""The project's URLs plus /bench/floor/, a view that does nothing: the floor of a request."""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


def floor_user(request):
    """The floor of a view that reads the user (and so the session)."""
    return HttpResponse(
        "ok" if request.user.is_authenticated else "anon", content_type="text/plain"
    )


urlpatterns = [
    path("bench/floor/", floor),
    path("bench/floor-user/", floor_user),
    path("", include("sopflow.urls")),
]
