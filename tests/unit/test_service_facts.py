"""Where a request goes: every service's operator, jurisdictions, region and training terms, as
the providers reference states them (unconfirmed facts marked), shown by ``services``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from egress_watch.catalog.facts import MAY_TRAIN, STATUSES
from egress_watch.catalog.services import builtin_catalog, catalog_with
from egress_watch.cli.main import cli
from egress_watch.config.settings import load_settings
from egress_watch.errors import ConfigError
from egress_watch.paths import HomePaths

# (host, operator starts with, jurisdictions, region, may_train, status) straight from the
# reference's rows: the operator's and the parent's codes, the region the host implies.
ROWS = [
    ("api.deepseek.com", "Hangzhou DeepSeek", ("CN",), "CN-mainland", "unknown", "partial"),
    (
        "dashscope.aliyuncs.com",
        "Alibaba Cloud Computing",
        ("CN",),
        "CN-mainland",
        "no",
        "confirmed",
    ),
    (
        "dashscope-intl.aliyuncs.com",
        "Alibaba Cloud (Singapore)",
        ("SG", "CN"),
        "SG",
        "no",
        "confirmed",
    ),
    (
        "ws1.ap-southeast-1.maas.aliyuncs.com",
        "Alibaba Cloud (Singapore)",
        ("SG", "CN"),
        "SG",
        "no",
        "confirmed",
    ),
    (
        "ws1.cn-beijing.maas.aliyuncs.com",
        "Alibaba Cloud Computing",
        ("CN",),
        "CN-mainland",
        "no",
        "confirmed",
    ),
    ("dashscope-us.aliyuncs.com", "Alibaba Cloud US", ("US", "SG", "CN"), "US", "no", "confirmed"),
    (
        "cn-hongkong.dashscope.aliyuncs.com",
        "Alibaba Cloud (Hong Kong",
        ("HK?", "CN"),
        "HK",
        "no",
        "partial",
    ),
    ("api.z.ai", "JINGSHENG HENGXING", ("SG", "CN"), "SG", "no", "confirmed"),
    ("open.bigmodel.cn", "Beijing Zhipu Huazhang", ("CN",), "CN-mainland", "yes", "confirmed"),
    ("api.moonshot.ai", "Moonshot AI Pte. Ltd.", ("SG", "CN"), "unknown", "yes", "partial"),
    ("api.moonshot.cn", "Moonshot AI China", ("CN",), "CN-mainland", "yes", "partial"),
    ("api.kimi.com", "Moonshot / Kimi", ("CN?",), "unknown", "unknown", "unconfirmed"),
    ("api.minimax.io", "Nanonoble Pte. Ltd.", ("SG", "CN"), "US", "unknown", "partial"),
    ("api.minimaxi.com", "MiniMax China", ("CN?",), "unknown", "unknown", "unconfirmed"),
    (
        "chat.qwen.ai",
        "Alibaba Cloud, Singapore",
        ("SG?", "CN"),
        "unknown",
        "unknown",
        "unconfirmed",
    ),
    (
        "a0ai-api-sg.byteintlapi.com",
        "SPRING (SG) PTE. LTD.",
        ("SG", "CN"),
        "US+SG+MY",
        "yes",
        "confirmed",
    ),
    (
        "ark.ap-southeast.bytepluses.com",
        "BytePlus Pte. Ltd.",
        ("SG", "CN"),
        "MY+ID?",
        "unknown",
        "partial",
    ),
    (
        "coding-intl.dashscope.aliyuncs.com",
        "Alibaba Cloud (Singapore)",
        ("SG", "CN"),
        "SG",
        "no",
        "partial",
    ),
    ("api.openai.com", "OpenAI, L.L.C.", ("US",), "global", "no", "confirmed"),
    ("eu.api.openai.com", "OpenAI, L.L.C.", ("US",), "EU", "no", "confirmed"),
    ("chatgpt.com", "OpenAI, L.L.C.", ("US",), "unknown", "some-tiers", "partial"),
    ("api.anthropic.com", "Anthropic PBC", ("US",), "global", "no", "confirmed"),
    (
        "bedrock-runtime.eu-central-1.amazonaws.com",
        "Amazon Web Services",
        ("US",),
        "EU",
        "no",
        "confirmed",
    ),
    (
        "bedrock-runtime.ap-southeast-1.amazonaws.com",
        "Amazon Web Services",
        ("US",),
        "SG",
        "no",
        "confirmed",
    ),
    ("q.us-east-1.amazonaws.com", "Amazon Web Services", ("US",), "US", "some-tiers", "confirmed"),
    ("runtime.eu-central-1.kiro.dev", "Amazon Web Services", ("US",), "EU", "unknown", "partial"),
    ("europe-west4-aiplatform.googleapis.com", "Google LLC", ("US",), "EU", "no", "confirmed"),
    ("aiplatform.googleapis.com", "Google LLC", ("US",), "global", "no", "confirmed"),
    (
        "generativelanguage.googleapis.com",
        "Google LLC",
        ("US",),
        "global",
        "some-tiers",
        "confirmed",
    ),
    ("api.mistral.ai", "Mistral AI SAS", ("FR",), "EU", "some-tiers", "confirmed"),
    ("api.jetbrains.ai", "JetBrains s.r.o.", ("CZ",), "unknown", "no", "partial"),
    ("api.groq.com", "Groq", ("US?",), "unknown", "unknown", "partial"),
]


@pytest.mark.parametrize(("host", "operator", "codes", "region", "may_train", "status"), ROWS)
def test_facts_per_host_follow_the_reference(
    host: str, operator: str, codes: tuple[str, ...], region: str, may_train: str, status: str
) -> None:
    facts = builtin_catalog().facts(host)
    assert facts.operator.startswith(operator)
    assert facts.jurisdictions == codes
    assert (facts.region, facts.may_train, facts.status) == (region, may_train, status)


def test_every_service_carries_a_status_and_every_known_code_is_iso() -> None:
    for service in builtin_catalog().services:
        for facts in (service.facts, *(site.facts for site in service.sites)):
            assert facts.status in STATUSES, service.id
            assert facts.may_train in MAY_TRAIN, service.id
            assert all(len(code.rstrip("?")) == 2 for code in facts.jurisdictions), service.id
            if facts.status == "confirmed":  # a confirmed row names its operator and sources
                assert facts.operator, service.id
                assert facts.sources, service.id
                assert not any(code.endswith("?") for code in facts.jurisdictions), service.id


def test_a_parent_code_matches_a_subsidiary() -> None:
    """A Singapore subsidiary of a Chinese parent answers to CN too."""
    assert "CN" in builtin_catalog().facts("dashscope-intl.aliyuncs.com").codes
    assert "CN" in builtin_catalog().facts("api.kimi.com").codes  # unconfirmed, still matched
    assert "CN" not in builtin_catalog().facts("api.openai.com").codes


def test_services_json_carries_the_facts_of_every_service(ew_home: HomePaths) -> None:
    result = CliRunner().invoke(cli, ["services", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    services = json.loads(result.stdout)
    assert len(services) == len(builtin_catalog().services)
    for service in services:
        for key in ("operator", "parent", "jurisdictions", "region", "training", "may_train",
                    "status", "sources", "sites"):  # fmt: skip
            assert key in service, (service["id"], key)
    intl = next(s for s in services if s["id"] == "dashscope")["sites"][0]
    assert intl["hosts"][0] == "dashscope-intl.aliyuncs.com"
    assert (intl["jurisdictions"], intl["region"]) == (["SG", "CN"], "SG")


def test_services_text_marks_unconfirmed_facts_and_filters_by_jurisdiction(
    ew_home: HomePaths,
) -> None:
    result = CliRunner().invoke(cli, ["services", "--jurisdiction", "cn"], catch_exceptions=False)
    assert result.exit_code == 0
    out = result.stdout
    assert "deepseek" in out
    assert "api.openai.com" not in out
    assert "api.kimi.com: Moonshot / Kimi (entity unconfirmed)" in out
    assert "jurisdictions CN (unconfirmed)" in out
    assert "UNCONFIRMED" in out  # the row's status
    assert "jurisdictions SG, CN · region SG" in out  # dashscope-intl


def test_a_config_entry_amends_a_builtin_service_without_restating_hosts(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[services]]\nid = "deepseek"\nstatus = "confirmed"\nmay_train = "yes"\n'
        'training = { api = "checked by our legal team" }\n'
        '[[services]]\nid = "corp"\nhosts = ["llm.corp.example", "llm.{aws}.corp.example"]\n'
        'operator = "Corp Inc."\njurisdictions = ["DE"]\nregion = "EU"\n'
    )
    catalog = catalog_with(load_settings(config).services)
    deepseek = catalog.facts("api.deepseek.com")
    assert (deepseek.status, deepseek.may_train, deepseek.jurisdictions) == (
        "confirmed",
        "yes",
        ("CN",),
    )
    assert deepseek.training == (("api", "checked by our legal team"),)
    assert catalog.route("api.deepseek.com", "/chat/completions") is not None  # hosts kept
    corp = catalog.facts("llm.corp.example")
    assert (corp.operator, corp.codes, corp.region) == ("Corp Inc.", ("DE",), "EU")
    assert catalog.facts("llm.ap-southeast-1.corp.example").region == "SG"  # the {aws} list


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('jurisdictions = ["China"]', "jurisdictions: 'China' is not an ISO 3166-1 alpha-2 code"),
        ('region = "Beijing"', "region: expected a country code such as 'SG'"),
        ('may_train = "maybe"', "may_train: expected one of yes, some-tiers, no, unknown"),
        ('status = "sure"', "status: expected one of confirmed, partial, unconfirmed"),
        ('training = "yes"', 'training: expected a table of tier = "note"'),
        ('hosts = ["a.{azure}.example"]', "unknown region list 'azure'"),
        ('sites = [{ hosts = ["a.example"], colour = "red" }]', "sites[0]: unknown key 'colour'"),
    ],
)
def test_bad_facts_name_the_file_the_entry_and_the_key(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "config.toml"
    hosts = "" if table.startswith("hosts") else 'hosts = ["a.example"]\n'
    config.write_text(f'[[services]]\nid = "x"\n{hosts}{table}\n')
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert str(error.value).startswith(f"{config}: services[0]: service 'x'")
    assert message in str(error.value)


def test_host_lookups_are_remembered_boundedly_and_give_the_same_answer() -> None:
    catalog = catalog_with(())  # a fresh catalog: its own memory
    first = catalog.route("API.DeepSeek.com.", "/chat/completions")
    assert first == catalog.route("api.deepseek.com", "/chat/completions")
    assert catalog.facts("api.deepseek.com") is catalog.facts("API.DEEPSEEK.COM")
    for number in range(5000):  # a flood of non-AI names does not grow it without bound
        assert catalog.route(f"host{number}.example.org", "/") is None
    assert len(catalog._by_host) <= 4096
    assert catalog.facts_of("deepseek", "api.deepseek.com").region == "CN-mainland"
