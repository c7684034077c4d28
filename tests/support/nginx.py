"""Debian's nginx run by the cluster tests with the repository's own server blocks
(docker/nginx.conf, deploy/nginx/forward-auth.conf): only addresses, names and certificate
paths are put in for this machine, each replacement matching exactly once."""

from .checkout import ROOT


def from_template(path, replacements):
    """The file's text with each (old, new) put in; an `old` not found exactly once fails the
    test (the shipped file changed under it)."""
    text = path.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def authsvc_site(upstreams, http_port, https_port, certs, https_listen="ssl"):
    """docker/nginx.conf (authsvc's own host) in front of gunicorn on these local ports."""
    return from_template(ROOT / "docker" / "nginx.conf", (
        ("server web:8000;", " ".join(f"server 127.0.0.1:{port};" for port in upstreams)),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} {https_listen};"),
        ("/etc/nginx/certs/fullchain.pem", f"{certs}/fullchain.pem"),
        ("/etc/nginx/certs/privkey.pem", f"{certs}/privkey.pem")))


def nginx_config(folder, sites):
    """Writes each of `sites` ({file name: server blocks}) into `folder` and the main file that
    includes them, in that order: the nginx image's main file, reduced, with every path in
    `folder` (run nginx with -p folder). Returns the main file's path."""
    for name, text in sites.items():
        (folder / name).write_text(text)
    includes = "".join(f"\n            include {folder / name};" for name in sites)
    (folder / "nginx.conf").write_text(f"""
        worker_processes 1;
        pid {folder}/nginx.pid;
        error_log {folder}/error.log warn;
        events {{ worker_connections 256; }}
        http {{
            access_log off;
            client_body_temp_path {folder}/body;
            proxy_temp_path {folder}/proxy;
            fastcgi_temp_path {folder}/fastcgi;
            uwsgi_temp_path {folder}/uwsgi;
            scgi_temp_path {folder}/scgi;{includes}
        }}
    """)
    return folder / "nginx.conf"
