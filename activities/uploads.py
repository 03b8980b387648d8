"""Attachments of a step: validation by content, size limits, image renditions, storage.

Interface used by the rest of the app (the implementation is being completed):
- `validate_uploads(files)` takes Django UploadedFile objects and returns `ValidUpload`s, or
  raises `django.core.exceptions.ValidationError` whose messages say which file and why.
  Nothing is written by validation.
- `store(run, step_run, uploads, actor, at)` is called by the workflow inside the transition's
  transaction; it writes the files through the storage API, the `Attachment` rows and an
  `Event` per file.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class ValidUpload:
    name: str
    content_type: str
    data: bytes
    sha256: str
    rendition: bytes | None = None
    caption: str = ""


def validate_uploads(files):
    if files:
        raise NotImplementedError
    return []


def store(run, step_run, uploads, actor, at):
    if uploads:
        raise NotImplementedError
    return []
