"""The file input of a step's attachments: what it accepts and the limits it states."""

from django import template
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from activities.core import uploads

register = template.Library()


@register.simple_tag
def upload_accept():
    return uploads.accept_attribute()


@register.simple_tag
def upload_help():
    return _(
        "Boleh beberapa berkas: %(kinds)s. Paling besar %(file_limit)s per berkas dan "
        "%(step_limit)s per langkah. Foto diperkecil otomatis dan data lokasinya dihapus."
    ) % {
        "kinds": uploads.allowed_labels(),
        "file_limit": filesizeformat(uploads.max_file_bytes()),
        "step_limit": filesizeformat(uploads.max_step_bytes()),
    }
