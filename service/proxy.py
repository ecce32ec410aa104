"""nginx in front of the service (SPEC §11): deploy/nginx.conf.template rendered for a listen address, the
instances behind it and MAX_BODY_BYTES, and a running nginx (Debian's `nginx` package) with every file
it writes in one folder of its own."""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .config import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf.template"

# nginx's own errors (SPEC §7's envelope): status -> (code, message). 494 is nginx's "Request Header Or
# Cookie Too Large", which it would show as a bare 400; the template maps it to 431.
ERRORS = {
    400: ("BAD_REQUEST", "The request is not valid HTTP."),
    404: ("NOT_FOUND", "No such resource."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is above the limit of {max_body_bytes} bytes."),
    414: ("URI_TOO_LONG", "The request line is longer than 8 KiB."),
    431: ("HEADER_TOO_LARGE", "A request header is above 8 KiB, or all of them above 32 KiB."),
    500: ("INTERNAL_ERROR", "Something went wrong in the proxy; quote the request id when reporting it."),
    502: ("SERVICE_UNAVAILABLE", "No instance of the service answered; retry shortly."),
    # the instance that had the request stopped before answering (the template's $weighin_gateway)
    503: (
        "SERVICE_UNAVAILABLE",
        "The instance handling the request stopped before answering; retry it (a write under the same "
        "Idempotency-Key).",
    ),
    504: ("SERVICE_TIMEOUT", "The service did not answer in time; retry shortly."),
}


class ProxyError(RuntimeError):
    pass


def find_nginx() -> str:
    """The nginx binary: on PATH or Debian's /usr/sbin/nginx (often not on a user's PATH)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        raise ProxyError("no nginx binary found (on Debian: apt-get install -y nginx)")
    return found


def _error_body(status: int, max_body_bytes: int) -> str:
    code, message = ERRORS[status]
    envelope = {"error": {"code": code, "message": message.format(max_body_bytes=max_body_bytes)}}
    text = json.dumps(envelope)[:-2] + ', "details": {"request_id": "$request_id"}}}'
    return text.replace("'", "\\'")


def _worker_user() -> str:
    """As root, nginx's workers drop to an unprivileged user; otherwise they stay who started nginx."""
    if os.geteuid() != 0:
        return ""
    for name in ("www-data", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return f"user {name} {grp.getgrgid(entry.pw_gid).gr_name};"
    return ""


def render(listen: str, upstreams: list[str], max_body_bytes: int, prefix: Path) -> str:
    """The configuration for nginx listening on `listen` (host:port) in front of `upstreams` (host:port)."""
    locations = "\n".join(
        f"            location = /_weighin_errors/{status} {{\n"
        f"                return {status} '{_error_body(status, max_body_bytes)}';\n            }}"
        for status in ERRORS
    )
    values = {
        "@USER@": _worker_user(),
        "@PREFIX@": str(prefix),
        "@LISTEN@": listen,
        "@MAX_BODY_BYTES@": str(max_body_bytes),
        "@UPSTREAMS@": "\n".join(f"        server {u} max_fails=1 fail_timeout=5s;" for u in upstreams),
        "@ERROR_LOCATIONS@": locations,
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(name, value)
    return text


class Nginx:
    """A running nginx; its configuration, pid, logs and temp files live in a folder it removes on stop."""

    def __init__(self, listen_host: str, listen_port: int, upstreams: list[str], max_body_bytes: int):
        self.port = listen_port
        self.base = f"http://{listen_host}:{listen_port}"
        self.prefix = Path(tempfile.mkdtemp(prefix="weighin-nginx-"))
        self.prefix.chmod(0o755)  # the workers (www-data) read and write the temp folders inside
        conf = self.prefix / "nginx.conf"
        conf.write_text(render(f"{listen_host}:{listen_port}", upstreams, max_body_bytes, self.prefix))
        binary = find_nginx()
        command = [binary, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log")]
        checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
        if checked.returncode != 0:
            shutil.rmtree(self.prefix, ignore_errors=True)
            raise ProxyError(f"nginx refused its configuration: {checked.stderr.strip()}")
        self.process = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
        self._wait_listening(listen_host, listen_port)

    def _wait_listening(self, host: str, port: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ProxyError(f"nginx exited: {self.process.stderr.read().strip()}")
            try:
                socket.create_connection((host, port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ProxyError(f"nginx did not listen on {host}:{port} within 10 s")

    def stop(self) -> None:
        end(self.process, signal.SIGQUIT, 10)  # SIGQUIT: graceful, answers in flight are finished
        shutil.rmtree(self.prefix, ignore_errors=True)


def end(process: subprocess.Popen, sig: int, seconds: float) -> int:
    """Sends `sig` to a process still running and waits `seconds` for it, then kills it; its exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()
