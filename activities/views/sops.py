"""The SOP library: the SOPs of the user's units, each in the official table layout and as PDF."""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_safe

from activities.authoring import sopdoc
from activities.core import access, policy
from activities.documents import pdf
from activities.documents.letterhead import Letterhead
from activities.models import Sop, Step

# A frozen version's PDF never changes; a day keeps the cache from holding retired ones forever.
SOP_PDF_CACHE_SECONDS = 24 * 3600


@dataclass
class LibraryEntry:
    sop: Sop
    step_count: int
    total: str
    can_open: bool


@login_required
@require_safe
def sop_list(request):
    """The SOPs of the units where the user holds a role (all of them for a superuser).

    Queries: the user's roles and acting appointments (`policy.subject`), SOPs with units,
    their steps and the steps' roles.
    """
    steps = Step.objects.prefetch_related("roles").order_by("number")
    sops = (
        policy.visible_sops(request.user)
        .select_related("unit")
        .prefetch_related(Prefetch("steps", queryset=steps))
        .order_by("unit__name", "name", "-version")
    )
    entries = []
    for sop in sops:
        sop_steps = list(sop.steps.all())
        entries.append(
            LibraryEntry(
                sop=sop,
                step_count=len(sop_steps),
                total=sop.standard_total_display(sop_steps),
                can_open=policy.can_open(request.user, sop),
            )
        )
    return render(
        request,
        "sops/list.html",
        {"entries": entries, "can_author": access.may_author_sops(request.user)},
    )


@login_required
@require_safe
def sop_detail(request, pk):
    """One SOP in the official layout: identity block, step table with symbols, totals."""
    sop = access.get_sop_for_user(request.user, pk)
    document = sopdoc.build(sop)
    return render(
        request,
        "sops/detail.html",
        {
            "sop": sop,
            "doc": document,
            "kop": Letterhead.for_unit(sop.unit, web=True),
            "can_open": policy.can_open(request.user, sop),
            "can_monitor": access.can_monitor(request.user, sop.unit),
            "can_edit": access.may_maintain_sops(request.user, sop.unit),
            "can_approve": policy.can_approve_sop(request.user, sop),
        },
    )


def pdf_context(sop):
    """Everything reports/sop.html prints, for an SOP read through `access.sop_queryset`."""
    return {
        "sop": sop,
        "doc": sopdoc.build(sop, paged=True),
        "kop": Letterhead.for_unit(sop.unit),
        # Absolute, in the fetcher's own scheme: WeasyPrint leaves a relative URL unresolved
        # against a base URL whose scheme it does not know, and the fetcher refuses it.
        "stylesheet": f"{pdf.BASE_URL}{settings.STATIC_URL.strip('/')}/css/sopdoc.css",
    }


def sop_pdf_bytes(sop):
    """The SOP document as PDF bytes.

    A version that runs were opened from is frozen: its steps and pelaksana names never
    change, so its PDF is rendered once and kept in the cache, keyed by the version, the
    moment its row last changed (status, pengesahan) and the unit names its header prints.
    A version still being drafted is rendered each time."""
    if not sop.is_frozen:
        return pdf.render_pdf("reports/sop.html", pdf_context(sop))
    unit = sop.unit
    key = ":".join(
        [
            "sop-pdf",
            str(sop.pk),
            str(sop.version),
            str(sop.updated_at.timestamp()),
            hashlib.sha256(f"{unit.parent_name}\n{unit.name}".encode()).hexdigest()[:16],
        ]
    )
    content = cache.get(key)
    if content is None:
        content = pdf.render_pdf("reports/sop.html", pdf_context(sop))
        cache.set(key, content, SOP_PDF_CACHE_SECONDS)
    return content


@login_required
@require_safe
def sop_pdf(request, pk):
    """The SOP as an A4 landscape PDF, paged with off-page connectors."""
    sop = access.get_sop_for_user(request.user, pk)
    response = HttpResponse(sop_pdf_bytes(sop), content_type="application/pdf")
    filename = f"sop-{slugify(sop.unit.short_name)}-{sop.pk}-v{sop.version}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response
