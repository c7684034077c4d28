"""Request-rate limits (Flask-Limiter) shared by the pages and the API.

Each is one bucket per client IP however many routes use it, so the HTML and the JSON
doors to the same thing can't be used to double an attacker's budget.
"""

from flask import current_app

from .extensions import limiter

login_attempts = limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], scope="login",
                                      methods=["POST"])
captcha_images = limiter.shared_limit(lambda: current_app.config["CAPTCHA_IMAGE_LIMIT"], scope="captcha")
