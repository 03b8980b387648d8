"""The REST API (`/api/v1/`, django-ninja): its keys, errors, schemas and endpoints. Part of the
web layer: every endpoint fetches through `activities.core.access`/`policy` and changes through
`activities.core.workflow`, as the pages do."""
