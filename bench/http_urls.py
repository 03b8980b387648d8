"""The project's URLs plus /bench/floor/, a view that does nothing: the floor of a request."""

from django.http import HttpResponse
from django.urls import include, path


def floor(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("bench/floor/", floor),
    path("", include("sopflow.urls")),
]
