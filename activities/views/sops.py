"""Placeholder: being written."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


sop_list = sop_detail = sop_pdf = _todo
