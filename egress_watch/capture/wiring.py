"""How the addon is put together from the data home: its mitmproxy options, then the settings,
engine, policy, writer and analysis workers a (re)configure builds.

Apart from the hooks so the addon reads as what happens to a request, not how it is set up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from mitmproxy.addonmanager import Loader

from egress_watch.capture.answers import Answers
from egress_watch.capture.worker_pool import AnalysisPool, EngineSpec
from egress_watch.catalog.services import catalog_with
from egress_watch.classify.engine import Engine
from egress_watch.config.settings import Settings, load_settings
from egress_watch.decide.naming import Naming
from egress_watch.decide.vault import Vault
from egress_watch.model import FailMode, Mode
from egress_watch.paths import HomePaths, resolve_home
from egress_watch.pipeline import Inspector, Policy
from egress_watch.workstation.home import load_hmac_key, prepare_home

log = logging.getLogger(__name__)


def add_options(loader: Loader, defaults: dict[str, str]) -> None:
    """Declare the addon's options, defaulting to what the addon was built with."""
    loader.add_option(
        name="egress_watch_home",
        typespec=str,
        default=defaults["home"],
        help="egress-watch data home (config, history, keys). Empty: $EGRESS_WATCH_HOME or "
        "the platform's user data directory.",
    )
    loader.add_option(
        name="egress_watch_mode",
        typespec=str,
        default=defaults["mode"],
        help="Override the policy mode of config.toml: monitor, redact or block. Empty: use "
        "the config.",
    )
    loader.add_option(
        name="egress_watch_fail_mode",
        typespec=str,
        default=defaults["fail_mode"],
        help="What an internal error does to a request: open forwards it, closed answers with "
        "an error. Empty: open in monitor mode, closed in redact and block mode.",
    )


@dataclass(frozen=True)
class Prepared:
    """What a configure reads and opens before it replaces the running parts."""

    paths: HomePaths
    settings: Settings
    key: bytes
    engine: Engine
    policy: Policy
    writer: Any  # EventWriter; imported lazily so `-s` loads stay cheap


def prepare(home: str | None, mode_option: str, fail_mode_option: str) -> Prepared:
    """Read the home and its config (options override it) and open a new history writer.

    Raises EgressWatchError or ValueError on a bad home, config or option, before anything
    running is touched.
    """
    from egress_watch.store.writer import EventWriter, Retention

    paths = HomePaths(resolve_home(home))
    prepare_home(paths)
    settings = load_settings(paths.config)
    overrides: dict[str, Any] = {}
    if mode_option:
        overrides["mode"] = Mode(mode_option)
    if fail_mode_option:
        overrides["fail_mode_setting"] = FailMode(fail_mode_option)
    settings = settings.replace(**overrides) if overrides else settings
    key = load_hmac_key(paths)
    engine = Engine.configured(key, settings, paths.config.parent, strict_index=False)
    policy = Policy(
        settings.mode,
        settings.block_severity,
        settings.max_body_mib * 2**20,
        settings.policy,
        # `--mode monitor` typed by the user: record and alert, never redact or block.
        monitor_only=mode_option == Mode.MONITOR.value,
        restore=settings.restore,
        inspect_budget_ms=settings.inspect_budget_ms,
    )
    writer = EventWriter(paths.database, retention=Retention(days=settings.retention_days))
    return Prepared(paths, settings, key, engine, policy, writer)


def inspection_parts(ready: Prepared, vault: Vault) -> tuple[AnalysisPool, Inspector, Answers]:
    """The analysis workers, the inspector and the answer restorer for prepared settings."""
    naming = Naming(ready.key, vault, ready.settings.restore.redact_style)
    pool = AnalysisPool(
        ready.engine, EngineSpec.of(ready.key, ready.settings, ready.paths.config.parent)
    )
    inspector = Inspector(
        catalog_with(ready.settings.services), ready.engine, ready.policy, naming, pool
    )
    return pool, inspector, Answers(naming, ready.writer)


def start_verifier(paths: HomePaths, settings: Settings) -> Any:
    """``[secrets] verify``: a background checker that asks issuers about new secrets (or None)."""
    from egress_watch.classify.verify import Verifier
    from egress_watch.store.verifications import VerificationStore

    if not settings.verify_secrets:
        return None
    store = VerificationStore(paths.database)
    base = paths.config.parent
    verifier = Verifier(
        store.record,
        rule_files=[base / name for name in settings.verify_rules],
        per_minute=settings.verify_per_minute,
        allow_internal_ips=settings.verify_private_networks,
        known=store.known,
    )
    log.warning("egress-watch: [secrets] verify is on: new secrets are sent to their issuer")
    return verifier
