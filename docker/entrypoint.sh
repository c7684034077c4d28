#!/bin/sh
# web: apply migrations, then serve; worker: deliver mail; anything else: run it.
set -e
case "$1" in
  web)
    flask --app wsgi db upgrade
    exec gunicorn -c gunicorn.conf.py wsgi:app ;;
  worker)
    exec flask --app wsgi mail-worker ;;
  *)
    exec "$@" ;;
esac
