"""The speed limit of a Flask request on this machine: what `make bench` measures authsvc against.

Two endpoints with nothing of an account service in them, served by the same gunicorn settings
and the same Redis as authsvc:
- POST /json reads a JSON body and does one Redis SET (the floor under a code-sending request);
- GET /page renders a Jinja page the size of authsvc's sign-in form (the floor under a page);
- GET /verify reads a session cookie, GETs its record from Redis, decodes the JSON and answers
  200 with a Remote-User header (the floor under forward-auth's GET /auth/verify).
Settings from the environment: REDIS_URL.
"""

import hashlib
import json
import os

import redis
from flask import Flask, jsonify, request

app = Flask(__name__)
store = redis.Redis.from_url(os.environ["REDIS_URL"])

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>
<h1>{{ title }}</h1><form method="post" action="/page">
<input type="hidden" name="csrf_token" value="{{ token }}">
{% for field in fields %}<p><label for="{{ field }}">{{ field|capitalize }}</label>
<input id="{{ field }}" name="{{ field }}" required autocomplete="{{ field }}"></p>{% endfor %}
<button type="submit">{{ title }}</button></form>
{% for link in links %}<p><a href="/{{ link }}">{{ link }}</a></p>{% endfor %}</main></body></html>"""


TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, as Flask caches a file template


@app.post("/json")
def json_write():
    body = request.get_json()
    store.set("bare:" + str(body.get("email"))[:254], "1", ex=60)
    return jsonify({"status": "accepted"}), 202


@app.get("/page")
def page():
    return TEMPLATE.render(title="Sign in", token=os.urandom(16).hex(), fields=("username", "password"),
                           links=("register", "reset", "login/code"))


@app.get("/verify")
def verify():
    sid = request.cookies.get("s", "")
    raw = store.get("bare:sess:" + hashlib.sha256(sid.encode()).hexdigest())
    if raw is None:
        return "", 401
    record = json.loads(raw)
    return "", 200, {"Remote-User": record["data"]["fwd"]["name"], "Cache-Control": "no-store"}


@app.get("/login")  # what the bench's readiness probe asks for
def ready():
    return "ok"
