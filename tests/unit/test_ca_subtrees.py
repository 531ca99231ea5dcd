"""The CA built for the built-in catalog permits exactly the catalog's own names: every cloud
region is listed, and no subtree is a bare cloud apex (all of amazonaws.com, googleapis.com…)."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner
from cryptography import x509

from egress_watch.catalog.services import Catalog, Service, builtin_catalog
from egress_watch.cli.main import cli
from egress_watch.paths import HomePaths
from egress_watch.workstation.ca import CANARY_HOST, broadened, build_ca, ca_domains
from egress_watch.workstation.home import prepare_home

# Domains under which many unrelated services of a cloud or a company live: the CA must never
# permit one of them whole. (openai.azure.com, cognitiveservices.azure.com and
# services.ai.azure.com hold only AI resources, one subdomain per customer: those stay whole.)
CLOUD_APEXES = frozenset(
    {
        "amazonaws.com", "api.aws", "kiro.dev", "googleapis.com", "google.com", "ghe.com",
        "github.com", "githubusercontent.com", "azure.com", "aliyuncs.com", "maas.aliyuncs.com",
        "aliyun.com", "alibabacloud.com", "tencent.com", "cloud.tencent.com",
        "tencentcloud.com", "baidubce.com", "volces.com", "bytepluses.com", "byteintlapi.com",
        "intellij.net", "x.ai", "mistral.ai", "rep.googleapis.com",
    }
)  # fmt: skip

AWS_REGIONS = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "ca-central-1",
    "ca-west-1",
    "mx-central-1",
    "sa-east-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
]
GCP_REGIONS = [
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "southamerica-east1",
    "southamerica-west1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "europe-central2",
    "europe-north1",
    "europe-southwest1",
    "me-west1",
    "me-central1",
    "me-central2",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "australia-southeast1",
    "australia-southeast2",
    "africa-south1",
    "eu",
    "us",
]

# Every permitted subtree under a cloud apex, written out.
CLOUD_SUBTREES = {
    "amazonaws.com": {
        *(f"bedrock-runtime.{r}.amazonaws.com" for r in AWS_REGIONS),
        *(f"bedrock-runtime-fips.{r}.amazonaws.com" for r in AWS_REGIONS),
        *(f"q.{r}.amazonaws.com" for r in ("us-east-1", "eu-central-1")),
        *(f"codewhisperer.{r}.amazonaws.com" for r in ("us-east-1", "eu-central-1")),
    },
    "api.aws": {f"aws-external-anthropic.{r}.api.aws" for r in AWS_REGIONS},
    "kiro.dev": {"runtime.us-east-1.kiro.dev", "runtime.eu-central-1.kiro.dev"},
    "googleapis.com": {
        "aiplatform.googleapis.com",
        *(f"{r}-aiplatform.googleapis.com" for r in GCP_REGIONS),
        *(f"aiplatform.{r}.rep.googleapis.com" for r in GCP_REGIONS),
        "generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com",
        "daily-cloudcode-pa.googleapis.com", "daily-cloudcode-pa.sandbox.googleapis.com",
        "autopush-cloudcode-pa.sandbox.googleapis.com", "claude.googleapis.com",
        "jules.googleapis.com",
    },
    "ghe.com": set(),
    "azure.com": {
        "openai.azure.com", "cognitiveservices.azure.com", "services.ai.azure.com",
    },
    "aliyuncs.com": {
        "dashscope.aliyuncs.com", "dashscope-intl.aliyuncs.com", "dashscope-us.aliyuncs.com",
        # coding[-intl].dashscope.aliyuncs.com: inside dashscope.aliyuncs.com already
        "cn-beijing.maas.aliyuncs.com", "ap-southeast-1.maas.aliyuncs.com",
    },
}  # fmt: skip


def bare_apexes(domains: tuple[str, ...]) -> list[str]:
    """Permitted subtrees that are a whole cloud apex: what the CA must never allow."""
    return [d for d in domains if d in CLOUD_APEXES]


def permitted(domains: tuple[str, ...]) -> list[str]:
    _, cert = build_ca(domains, dt.datetime.now(dt.UTC))
    constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    return [name.value for name in constraints.permitted_subtrees or []]


def under(apex: str, domains: list[str]) -> set[str]:
    """Subtrees of ``apex`` that no other listed apex below it claims (azure vs. ai.azure)."""
    return {d for d in domains if d == apex or d.endswith("." + apex)}


def test_every_permitted_subtree_under_a_cloud_apex_is_listed_and_no_apex_is_whole() -> None:
    names = permitted(ca_domains(builtin_catalog()))
    assert bare_apexes(tuple(names)) == []
    for apex, expected in CLOUD_SUBTREES.items():
        assert under(apex, names) == expected, apex
    assert CANARY_HOST in names
    assert broadened(builtin_catalog()) == []  # no wildcard inside a name left


def test_every_other_subtree_is_a_catalog_host_itself() -> None:
    """Outside the clouds, each subtree is a host of the catalog, not a parent of one."""
    hosts = {p.removeprefix("*.") for s in builtin_catalog().services for p in s.hosts}
    for name in permitted(ca_domains(builtin_catalog())):
        assert name in hosts or name == CANARY_HOST, name


def test_the_check_fails_on_a_mid_label_wildcard() -> None:
    """The old catalog's patterns widen the CA to whole cloud apexes: the check catches it."""
    old = Catalog(
        (
            Service(
                "old",
                "old",
                (
                    "bedrock-runtime.*.amazonaws.com",
                    "*-aiplatform.googleapis.com",
                    "copilot-api.*.ghe.com",
                    "aws-external-anthropic.*.api.aws",
                    "runtime.*.kiro.dev",
                ),
                "auto",
            ),
        )
    )
    assert sorted(bare_apexes(tuple(permitted(ca_domains(old))))) == [
        "amazonaws.com",
        "api.aws",
        "ghe.com",
        "googleapis.com",
        "kiro.dev",
    ]


def test_a_new_region_is_one_line_of_config() -> None:
    """A [[services]] entry naming a new region's host adds exactly that host's subtree."""
    extra = Service(
        "bedrock-new", "Bedrock, new region", ("bedrock-runtime.xx-new-1.amazonaws.com",), "auto"
    )
    catalog = Catalog((extra, *builtin_catalog().services))
    added = set(ca_domains(catalog)) - set(ca_domains(builtin_catalog()))
    assert added == {"bedrock-runtime.xx-new-1.amazonaws.com"}


def test_trust_warns_only_about_a_config_wildcard(ew_home: HomePaths) -> None:
    """The built-in catalog gives `trust` nothing to warn about; a [[services]] wildcard inside
    a name is still named, with the apex it would permit."""

    def trust_stderr() -> str:
        result = CliRunner().invoke(cli, ["trust", "--bundle-only"], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
        return result.stderr

    assert "widen" not in trust_stderr()
    prepare_home(ew_home)
    with ew_home.config.open("a") as config:
        config.write('\n[[services]]\nid = "corp"\nhosts = ["llm.*.corp.example"]\n')
    assert "widen the CA to all of corp.example" in trust_stderr()
