"""The OpenID Connect provider: registered clients (clients.py), codes, tokens and consents
(grants.py), Authlib's authorization server and the ID token (server.py), signing keys (keys.py)."""
