#!/bin/sh
# The peer on 127.0.0.1:8200: gunicorn, 2 sync workers, no access log.
# Start in the background so that it survives the shell:  setsid ./serve.sh >serve.log 2>&1 < /dev/null &
cd "$(dirname "$0")" || exit 1
exec .venv/bin/gunicorn peer.wsgi:application \
    --bind 127.0.0.1:8200 \
    --workers 2 \
    --worker-class sync \
    --pid gunicorn.pid \
    --error-logfile - \
    --log-level warning
