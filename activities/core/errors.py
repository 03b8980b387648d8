"""The errors of sopflow's services (transitions, uploads, the SOP lifecycle, appointments).

Each is a `WorkflowError` whose `message` is shown to the user as it is. Views map the type,
not the text, to a response: `Forbidden` is a 403, `NotFound` a 404, `Stale` means the page no
longer matches the data (show the object as it is now, with the message), `Invalid` belongs to
a form field (`field`) or to the form, `Unavailable` is a message to try again.
"""


class WorkflowError(Exception):
    """A change that cannot happen.

    `field` names the form field the message belongs to (or None); `code` says why in more
    detail than the type: forbidden, closed, not_active, already_done, stale, conflict,
    required, future, order, before_previous, deadline, approval, not_approval,
    not_returnable, sop_inactive, no_steps, storage, …
    """

    default_code = "invalid"

    def __init__(self, message, *, field=None, code=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code


class Forbidden(WorkflowError):
    """The user's roles do not allow this (a 403)."""

    default_code = "forbidden"


class NotFound(WorkflowError):
    """The object is gone or not the user's to know of (a 404)."""

    default_code = "not_found"


class Stale(WorkflowError):
    """Someone else changed it first, or it is no longer in a state for this: reload."""

    default_code = "stale"


class Closed(Stale):
    """The run is finished or cancelled; nothing can change any more."""

    default_code = "closed"


class Invalid(WorkflowError):
    """The input is refused; `field` says which form field (or None for the whole form)."""

    default_code = "invalid"


class Unavailable(WorkflowError):
    """Storage or another service failed; nothing was recorded, the user may try again."""

    default_code = "storage"
