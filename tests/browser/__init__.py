"""Real-browser tests: headless Chromium (Playwright) against the app served by gunicorn."""
