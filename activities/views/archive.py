"""Placeholder: being written."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


run_report = attachment_download = attachment_thumbnail = archive_list = archive_report = _todo
