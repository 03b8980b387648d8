"""Placeholder: being written."""

from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("todo")


home = inbox = run_list = run_create = run_detail = run_cancel = step_action = _todo
