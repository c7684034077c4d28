# Read by the `flask` command of a checkout (python-dotenv, installed by requirements-dev.txt),
# never by gunicorn and never copied into the image (.dockerignore). A variable already set in
# the environment wins, so AUTHSVC_ENV=production flask --app wsgi … stays production.
# Development is what `make run` uses: SECRET_KEY from instance/secret_key, embedded Redis,
# mail to instance/outbox/.
AUTHSVC_ENV=development
