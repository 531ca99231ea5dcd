"""Run the proxy in this process (foreground) or as a detached child; pidfile and health."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import logging.handlers
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from egress_watch.capture.listen import check_listen_host, remote_warning
from egress_watch.catalog.services import Catalog, catalog_with, host_pattern_regex
from egress_watch.config.settings import Settings, load_settings
from egress_watch.errors import DaemonError, EgressWatchError
from egress_watch.model import Mode
from egress_watch.paths import HomePaths, make_private_dirs
from egress_watch.workstation.ca import CANARY_HOST, ca_domains, ensure_ca
from egress_watch.workstation.home import write_private

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
LOG_ENV = "EGRESS_WATCH_DAEMON_LOG"
"""Set by ``start_background``: the detached daemon then logs to this file, rotated by size."""
LOG_MAX_BYTES = 5 * 2**20
LOG_BACKUPS = 3


def mitmproxy_options(paths: HomePaths, settings: Settings, catalog: Catalog) -> dict[str, Any]:
    """The mitmproxy options for our settings: loopback, our confdir, decrypt only AI hosts."""
    mode = [f"upstream:{settings.upstream_proxy}"] if settings.upstream_proxy else ["regular"]
    return {
        "listen_host": settings.listen_host,
        "listen_port": settings.listen_port,
        "mode": mode,
        "confdir": str(paths.confdir),
        "allow_hosts": [*catalog.allow_hosts(), host_pattern_regex(CANARY_HOST)],
        "connection_strategy": "lazy",
        # Leaf certificates must carry only names our name-constrained CA may sign: copying the
        # upstream certificate's SANs (mitmproxy's default) would add names outside the catalog
        # and make every client reject the leaf.
        "upstream_cert": False,
    }


def port_holder(host: str, port: int) -> str | None:
    """Name the local process listening on ``port`` if we may see it, for the error message."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return "another user's process"
            try:
                return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return None


def check_port_free(host: str, port: int) -> None:
    """Fail early, and clearly, when the listen address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                holder = port_holder(host, port)
                by = f" by {holder}" if holder else ""
                raise DaemonError(
                    f"port {port} on {host} is already in use{by}; choose another with "
                    "--listen-port or stop that process"
                ) from None
            raise DaemonError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def read_pid(paths: HomePaths) -> int | None:
    """The running daemon's pid, or None; a stale pidfile (dead or foreign pid) is removed."""
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        alive = process.status() != psutil.STATUS_ZOMBIE and "egress" in " ".join(process.cmdline())
    except psutil.Error:
        alive = False
    if not alive:
        paths.pidfile.unlink(missing_ok=True)
        return None
    return pid


def _secure_confdir(confdir: Path) -> None:
    """The CA key must stay private: 0700 directory, 0600 key files."""
    make_private_dirs(confdir)
    os.chmod(confdir, 0o700)
    for name in ("mitmproxy-ca.pem", "mitmproxy-ca.p12", "mitmproxy-dhparam.pem"):
        target = confdir / name
        if target.exists():
            os.chmod(target, 0o600)


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Size-rotated log whose files are created 0600: a log may name hosts and paths."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding or "utf-8")


def rotating_log_handler(
    path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS
) -> logging.Handler:
    """The detached daemon's log: ``daemon.log`` plus ``.1`` … ``.N``, oldest dropped."""
    handler = PrivateRotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _configure_logging() -> bool:
    """As mitmdump does, minus chatty libraries; returns whether to keep mitmproxy's termlog."""
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for noisy in ("tornado", "asyncio", "hpack", "quic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    log_file = os.environ.get(LOG_ENV)
    if not log_file:
        return True
    handler = rotating_log_handler(Path(log_file))
    handler.setLevel(logging.INFO)
    logging.getLogger("mitmproxy.proxy.server").setLevel(logging.WARNING)  # connect/disconnect
    root.addHandler(handler)
    return False


def prepare_ca(paths: HomePaths, catalog: Catalog) -> None:
    """Create or renew the name-constrained CA before mitmproxy loads its confdir."""
    reason = ensure_ca(paths.confdir, ca_domains(catalog))
    if reason is not None:
        log.warning(
            "egress-watch: new CA in %s (%s); run `egress-watch trust` so clients accept it",
            paths.confdir, reason,
        )  # fmt: skip


def reload_config(master: Any, paths: HomePaths) -> None:
    """SIGHUP: re-read config.toml and hand its policy to the addon; a bad file changes nothing."""
    try:
        settings = load_settings(paths.config)
    except EgressWatchError as error:
        log.error("egress-watch: reload refused, keeping the running config: %s", error)
        return
    # config.toml is in force from now on: a --mode / fail mode given at start is dropped.
    wanted = {"egress_watch_mode": "", "egress_watch_fail_mode": ""}
    if any(getattr(master.options, k) != v for k, v in wanted.items()):
        master.options.update(**wanted)  # the addon's configure() re-reads config.toml
    else:  # same mode: still announce a change so the addon re-reads the rest of the file
        master.options.changed.send(updated={"egress_watch_home"})
    log.info("egress-watch: reloaded %s (mode %s)", paths.config, settings.mode.value)


def start_exporter(paths: HomePaths, settings: Settings) -> Any:
    """Register the configured export sinks (none: the outbox stays empty) and start delivering."""
    from egress_watch.export.exporter import Exporter, ExportOptions
    from egress_watch.workstation.home import load_hmac_key

    options = ExportOptions(
        settings.export_sinks, settings.export_drop_paths, settings.export_max_backlog
    )
    exporter = Exporter(paths.database, load_hmac_key(paths), options)
    exporter.start()
    return exporter


def reload_exporter(paths: HomePaths, running: list[Any]) -> None:
    """SIGHUP: restart the exporter with the new ``[export]`` (off the event loop)."""
    try:
        settings = load_settings(paths.config)
    except EgressWatchError:
        return  # reload_config logs the refusal
    running[0].stop()
    running[0] = start_exporter(paths, settings)


async def _serve(
    paths: HomePaths, settings: Settings, extra: Sequence[str], mode_flag: Mode | None
) -> None:
    from mitmproxy.options import Options
    from mitmproxy.tools.dump import DumpMaster

    termlog = _configure_logging()

    from egress_watch.capture.addon import EgressWatch
    from egress_watch.workstation.doctor import CanaryResponder

    catalog = catalog_with(settings.services)
    _secure_confdir(paths.confdir)
    prepare_ca(paths, catalog)
    master = DumpMaster(Options(), with_termlog=termlog, with_dumper=False)
    fail_mode = settings.fail_mode_setting.value if settings.fail_mode_setting else ""
    # Only a mode typed on the command line overrides config.toml's policy table.
    mode = mode_flag.value if mode_flag is not None else ""
    master.addons.add(EgressWatch(str(paths.home), mode, fail_mode))
    master.addons.add(CanaryResponder())
    master.options.update(**mitmproxy_options(paths, settings, catalog))
    if extra:
        master.options.set(*extra)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, master.shutdown)
    exporter = [start_exporter(paths, settings)]

    def reload() -> None:
        reload_config(master, paths)
        loop.run_in_executor(None, reload_exporter, paths, exporter)

    loop.add_signal_handler(signal.SIGHUP, reload)
    try:
        await master.run()
    finally:
        exporter[0].stop()


def run_foreground(
    paths: HomePaths,
    settings: Settings,
    extra: Sequence[str] = (),
    mode_flag: Mode | None = None,
) -> None:
    """Run the proxy until SIGTERM/SIGINT; owns the pidfile while it runs.

    ``mode_flag`` is ``--mode`` when the user gave it: it then overrides every policy entry.
    """
    from mitmproxy.exceptions import OptionsError

    if (pid := read_pid(paths)) is not None and pid != os.getpid():
        raise DaemonError(f"egress-watch is already running (pid {pid}); `egress-watch stop` first")
    check_listen_host(settings.listen_host, settings.allow_remote)
    if warning := remote_warning(settings.listen_host, settings.listen_port):
        log.warning("egress-watch: %s", warning)
    check_port_free(settings.listen_host, settings.listen_port)
    paths.pidfile.unlink(missing_ok=True)
    write_private(paths.pidfile, f"{os.getpid()}\n".encode())
    try:
        asyncio.run(_serve(paths, settings, extra, mode_flag))
    except OptionsError as error:
        raise DaemonError(f"invalid proxy option: {error}") from None
    finally:
        if read_pid(paths) == os.getpid():
            paths.pidfile.unlink(missing_ok=True)


def start_background(paths: HomePaths, settings: Settings, argv: Sequence[str]) -> int:
    """Start ``egress-watch start --foreground`` detached, logging to the home; wait until up."""
    if (pid := read_pid(paths)) is not None:
        raise DaemonError(f"egress-watch is already running (pid {pid})")
    check_port_free(settings.listen_host, settings.listen_port)
    paths.state.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "egress_watch",
        "--home",
        str(paths.home),
        "start",
        "--foreground",
        *argv,
    ]
    fd = os.open(paths.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    env = {**os.environ, LOG_ENV: str(paths.log)}
    with os.fdopen(fd, "ab") as log_file:  # catches what happens before logging is set up
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file,
            start_new_session=True, close_fds=True, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise DaemonError(
                f"the daemon exited at start (code {child.returncode}); see {paths.log}"
            )
        state = read_state(paths)
        if state is not None and state.get("pid") == child.pid:
            return child.pid
        _wait_a_moment(child)
    child.terminate()
    raise DaemonError(f"the daemon did not come up within {START_TIMEOUT_S:.0f} s; see {paths.log}")


def _wait_a_moment(child: subprocess.Popen[bytes]) -> None:
    """Block briefly on the child itself rather than sleeping blind: returns early if it exits."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=0.1)


def stop(paths: HomePaths) -> int | None:
    """SIGTERM the daemon and wait for it to exit; returns its pid, or None if none ran."""
    pid = read_pid(paths)
    if pid is None:
        return None
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_S)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired:
        raise DaemonError(f"pid {pid} did not stop within {STOP_TIMEOUT_S:.0f} s") from None
    paths.pidfile.unlink(missing_ok=True)
    paths.state.unlink(missing_ok=True)
    return pid


def read_state(paths: HomePaths) -> dict[str, Any] | None:
    """The health record the running daemon publishes, or None."""
    try:
        state: dict[str, Any] = json.loads(paths.state.read_text())
    except (OSError, ValueError):
        return None
    return state


def status(paths: HomePaths) -> dict[str, Any]:
    """pid, port, counters and uptime of the daemon, or ``running: false``."""
    pid = read_pid(paths)
    state = read_state(paths) if pid is not None else None
    if pid is None or state is None or state.get("pid") != pid:
        return {"running": False, "pid": pid, "home": str(paths.home)}
    uptime = round(time.time() - float(state["started_at"]), 1)
    return {
        "running": True,
        "home": str(paths.home),
        **state,
        "port": state.get("listen_port"),
        "uptime": uptime,
        "uptime_s": uptime,
    }
