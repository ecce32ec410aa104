"""`weighin serve --instances N --proxy`: N gunicorn instances on consecutive ports behind one nginx, all
stopped together on Ctrl-C or SIGTERM; an instance that dies is started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .config import Config
from .proxy import Nginx, ProxyError, end

LOOPBACK = "127.0.0.1"


class Instance:
    """One `weighin serve` (a gunicorn master and its workers) on its own port."""

    def __init__(self, host: str, port: int, env: dict[str, str]):
        self.host, self.port = host, port
        self.env = {**env, "HOST": host, "PORT": str(port)}
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        weighin = Path(sys.executable).with_name("weighin")
        # a session of its own: Ctrl-C reaches the stack alone, which then stops each instance once
        process = subprocess.Popen([str(weighin), "serve"], env=self.env, start_new_session=True)
        print(f"instance on {self.host}:{self.port}: process group {process.pid}", flush=True)
        return process

    def wait_healthy(self, seconds: float = 30) -> None:
        problem = wait_healthy(f"http://{self.host}:{self.port}", self.process, seconds)
        if problem:
            raise SystemExit(f"weighin: the instance on port {self.port} {problem}")

    def revive(self) -> bool:
        """Starts the instance again when it has died; True when it had."""
        if self.process.poll() is None:
            return False
        print(f"weighin: the instance on port {self.port} exited ({self.process.returncode}); restarting")
        self.process = self._spawn()
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop


def wait_healthy(base: str, process: subprocess.Popen, seconds: float) -> str | None:
    """Waits until `base`/health answers 200; None then, else what went wrong (the process exited, or
    `seconds` passed)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited at start ({process.returncode})"
        try:
            with urllib.request.urlopen(base + "/health", timeout=1) as reply:
                if reply.status == 200:
                    return None
        except OSError:
            time.sleep(0.1)
    return f"is not healthy after {seconds:.0f} s"


def instance_env(config: Config, proxy: bool) -> dict[str, str]:
    """The instances' environment: behind the proxy, nginx (on loopback) is a trusted proxy unless
    TRUSTED_PROXIES says otherwise, so the rate limit sees the client's address from X-Forwarded-For."""
    env = dict(os.environ)
    if proxy and not env.get("TRUSTED_PROXIES", "").strip():
        env["TRUSTED_PROXIES"] = f"{LOOPBACK}/32"
    return env


def serve_stack(config: Config, instances: int, proxy: bool) -> None:
    """Runs until SIGINT or SIGTERM. With `proxy`, nginx listens on HOST:PORT and the instances on
    127.0.0.1:PORT+1..PORT+N; without it, the instances listen on HOST:PORT..PORT+N-1."""
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, frame: stopping.append(number))
    env = instance_env(config, proxy)
    host, first = (LOOPBACK, config.port + 1) if proxy else (config.host, config.port)
    if first + instances - 1 > 65535:
        raise SystemExit(f"weighin: ports {first}..{first + instances - 1} do not exist; lower PORT")
    running = [Instance(host, first + i, env) for i in range(instances)]
    nginx = None
    try:
        for instance in running:
            instance.wait_healthy()
        if proxy:
            upstreams = [f"{i.host}:{i.port}" for i in running]
            nginx = Nginx(config.host, config.port, upstreams, config.max_body_bytes)
            print(f"nginx on http://{config.host}:{config.port} in front of {', '.join(upstreams)}")
        else:
            print(f"{instances} instances on {host}:{first}..{first + instances - 1}")
        sys.stdout.flush()
        while not stopping:
            time.sleep(0.2)
            if nginx and nginx.process.poll() is not None:
                raise SystemExit("weighin: nginx exited; stopping the instances")
            for instance in running:
                instance.revive()
    except ProxyError as error:
        raise SystemExit(f"weighin: {error}") from None
    finally:
        if nginx:
            nginx.stop()
        for instance in running:
            instance.stop()
        for instance in running:
            end(instance.process, signal.SIGTERM, 30)
