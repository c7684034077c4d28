"""An independent OpenID Connect client for the tests: Authlib's own requests-based
OAuth2Session, its HTTP sent to the app through a transport adapter (no server code of ours)."""

import io
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


class FlaskAdapter(BaseAdapter):
    """requests -> the Flask test client (what a real network would carry, nothing more)."""

    def __init__(self, client):
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self.client.open(parts.path, method=request.method, query_string=parts.query,
                                  headers=dict(request.headers), data=body, base_url=f"{parts.scheme}://{parts.netloc}")
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers)
        response.raw = io.BytesIO(answer.get_data())
        response._content = answer.get_data()
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


def oauth_session(flask_client, **kwargs):
    from authlib.integrations.requests_client import OAuth2Session

    session = OAuth2Session(**kwargs)
    session.mount("https://", FlaskAdapter(flask_client))
    return session
