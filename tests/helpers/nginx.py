"""deploy/nginx.conf, rendered for a throwaway nginx on loopback (tests and bench/run.py).

The file itself is used, not a copy: only the values an operator replaces are replaced (ports,
paths, the upstream), TLS and the HTTP-to-HTTPS redirect are left out, and every replacement
must find its target exactly as often as expected, so a change to the file that would let the
rendering drift fails loudly instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.helpers.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"


def _replace(text: str, old: str, new: str, count: int = 1) -> str:
    found = text.count(old)
    if found != count:
        raise AssertionError(f"deploy/nginx.conf: {old!r} found {found} times, not {count}")
    return text.replace(old, new)


def render(port: int, upstream: str, work: Path, media: Path) -> str:
    """Return deploy/nginx.conf for plain HTTP on 127.0.0.1:port in front of upstream."""
    text = DEPLOY_CONF.read_text()
    redirect = re.search(r"server \{\n    listen 80;.*?\n\}\n", text, re.S)
    if redirect is None:
        raise AssertionError("deploy/nginx.conf: no plain-HTTP redirect server to leave out")
    text = text.replace(redirect.group(0), "")
    text = _replace(text, "    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{port};\n")
    text = _replace(text, "    listen [::]:443 ssl http2;\n", "")
    text = re.sub(r"    ssl_certificate(_key)? .*;\n", "", text)
    text = _replace(text, "server 127.0.0.1:8000;", f"server {upstream};")
    text = _replace(text, "/var/cache/nginx/blog", str(work / "cache"))
    text = _replace(text, "/srv/blog/instance/media/", f"{media}/")
    text = _replace(text, "/srv/blog/static/", f"{ROOT / 'static'}/")
    return text


MAIN = """
daemon off;
{user}
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    include {work}/blog.conf;
}}
"""


class Nginx:
    """nginx serving deploy/nginx.conf on a free loopback port, in front of upstream."""

    def __init__(self, upstream: str, work: Path, media: Path | None = None) -> None:
        work.mkdir(parents=True, exist_ok=True)
        media = media or work / "media"
        media.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.work = work
        (work / "blog.conf").write_text(render(self.port, upstream, work, media))
        # Run as root, nginx's workers would drop to nobody, who cannot enter a private
        # temporary folder: they stay root (on loopback, for a test).
        user = "user root;" if os.geteuid() == 0 else ""
        (work / "nginx.conf").write_text(MAIN.format(work=work, user=user))
        command = ["nginx", "-p", str(work), "-c", str(work / "nginx.conf")]
        check = subprocess.run([*command, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t refused the rendered deploy/nginx.conf:\n{check.stderr}")
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait()

    def _wait(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/static/css/blog.css", timeout=2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not start: {self.error_log()}") from None
                time.sleep(0.05)

    def error_log(self) -> str:
        path = self.work / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def available() -> bool:
    return shutil.which("nginx") is not None
