"""The built-in catalog: every service of the reference's routing table, its documented
endpoints routed to the right family, telemetry marked, and config.toml services merged in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from egress_watch.catalog.services import builtin_catalog, catalog_with, host_pattern_regex
from egress_watch.config.settings import load_settings
from egress_watch.errors import ConfigError
from egress_watch.model import Route

VP = "/v1/projects/p/locations/us-central1/publishers"
# (host, path, service, family) from the reference's routing table, one row per documented shape.
ROUTES = [
    ("api.openai.com", "/v1/chat/completions", "openai", "openai-chat"),
    ("eu.api.openai.com", "/v1/responses", "openai", "openai-responses"),
    ("us.api.openai.com", "/v1/responses/input_tokens", "openai", "openai-responses"),
    ("ae.api.openai.com", "/v1/responses/compact", "openai", "openai-responses"),
    ("mtls.api.openai.com", "/v1/conversations/c1/items", "openai", "openai-responses"),
    ("api.openai.com", "/v1/completions", "openai", "openai-completions"),
    ("api.openai.com", "/v1/embeddings", "openai", "openai-embeddings"),
    ("api.openai.com", "/v1/files", "openai", "multipart"),
    ("api.openai.com", "/v1/uploads/u1/parts", "openai", "multipart"),
    ("api.openai.com", "/v1/batches", "openai", "auto"),
    ("chatgpt.com", "/backend-api/codex/responses", "chatgpt-codex", "openai-responses"),
    (
        "res.openai.azure.com",
        "/openai/deployments/d/chat/completions",
        "azure-openai",
        "openai-chat",
    ),
    (
        "res.openai.azure.com",
        "/openai/deployments/d/completions",
        "azure-openai",
        "openai-completions",
    ),
    (
        "res.openai.azure.com",
        "/openai/deployments/d/embeddings",
        "azure-openai",
        "openai-embeddings",
    ),
    ("res.cognitiveservices.azure.com", "/openai/v1/responses", "azure-openai", "openai-responses"),
    ("res.services.ai.azure.com", "/anthropic/v1/messages", "azure-openai", "anthropic-messages"),
    ("res.services.ai.azure.com", "/models/chat/completions", "azure-openai", "openai-chat"),
    ("api.anthropic.com", "/v1/messages", "anthropic", "anthropic-messages"),
    ("api.anthropic.com", "/v1/messages/count_tokens", "anthropic", "anthropic-messages"),
    ("api.anthropic.com", "/v1/messages/batches", "anthropic", "anthropic-messages"),
    ("api.anthropic.com", "/v1/complete", "anthropic", "anthropic-messages"),
    ("api.anthropic.com", "/v1/files", "anthropic", "multipart"),
    ("bedrock-runtime.eu-west-1.amazonaws.com", "/model/m/converse", "bedrock", "bedrock-converse"),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/m/converse-stream",
        "bedrock",
        "bedrock-converse",
    ),
    (
        "bedrock-runtime-fips.us-east-1.amazonaws.com",
        "/model/us.anthropic.c-v1:0/invoke",
        "bedrock",
        "bedrock-invoke",
    ),
    (
        "bedrock-runtime.us-east-1.amazonaws.com",
        "/model/a%3Ab/invoke-with-response-stream",
        "bedrock",
        "bedrock-invoke",
    ),
    ("q.us-east-1.amazonaws.com", "/", "amazon-q", "amazon-q"),
    ("codewhisperer.us-east-1.amazonaws.com", "/generateAssistantResponse", "amazon-q", "amazon-q"),
    ("runtime.us-east-1.kiro.dev", "/", "amazon-q", "amazon-q"),
    ("generativelanguage.googleapis.com", "/v1beta/models/g:generateContent", "gemini", "gemini"),
    ("generativelanguage.googleapis.com", "/v1/models/g:countTokens", "gemini", "gemini"),
    (
        "generativelanguage.googleapis.com",
        "/v1beta/models/e:batchEmbedContents",
        "gemini",
        "gemini",
    ),
    ("generativelanguage.googleapis.com", "/v1beta/cachedContents", "gemini", "gemini"),
    (
        "us-central1-aiplatform.googleapis.com",
        f"{VP}/google/models/g:streamGenerateContent",
        "vertex-ai",
        "gemini",
    ),
    (
        "aiplatform.googleapis.com",
        f"{VP}/anthropic/models/claude:rawPredict",
        "vertex-ai",
        "anthropic-messages",
    ),
    (
        "aiplatform.eu.rep.googleapis.com",
        f"{VP}/anthropic/models/count-tokens:rawPredict",
        "vertex-ai",
        "anthropic-messages",
    ),
    (
        "europe-west4-aiplatform.googleapis.com",
        f"{VP}/mistralai/models/codestral:rawPredict",
        "vertex-ai",
        "openai-completions",
    ),
    (
        "us-central1-aiplatform.googleapis.com",
        f"{VP}/google/models/code-gecko:predict",
        "vertex-ai",
        "openai-completions",
    ),
    (
        "claude.googleapis.com",
        "/v1alpha/projects/p/locations/l/workspaces/w/invoke",
        "claude-google-cloud",
        "anthropic-messages",
    ),
    (
        "cloudcode-pa.googleapis.com",
        "/v1internal:streamGenerateContent",
        "gemini-code-assist",
        "gemini-code-assist",
    ),
    (
        "daily-cloudcode-pa.sandbox.googleapis.com",
        "/v1internal:countTokens",
        "gemini-code-assist",
        "gemini-code-assist",
    ),
    ("api.githubcopilot.com", "/chat/completions", "copilot", "openai-chat"),
    ("api.business.githubcopilot.com", "/responses", "copilot", "openai-responses"),
    ("api.enterprise.githubcopilot.com", "/v1/messages", "copilot", "anthropic-messages"),
    ("api.individual.githubcopilot.com", "/embeddings", "copilot", "openai-embeddings"),
    ("api-model-lab.githubcopilot.com", "/chat/completions", "copilot", "openai-chat"),
    (
        "proxy.business.githubcopilot.com",
        "/v1/engines/gpt-4o-copilot/completions",
        "copilot",
        "copilot-completions",
    ),
    (
        "copilot-proxy.githubusercontent.com",
        "/v1/engines/copilot-codex/completions",
        "copilot-proxy",
        "copilot-completions",
    ),
    ("copilot-proxy.githubusercontent.com", "/chat/completions", "copilot-proxy", "openai-chat"),
    (
        "origin-tracker.githubusercontent.com",
        "/twirp/github.snippy.v1.SnippyAPI/Match",
        "copilot-origin-tracker",
        "generic-json",
    ),
    ("api.mistral.ai", "/v1/chat/completions", "mistral", "openai-chat"),
    ("codestral.mistral.ai", "/v1/fim/completions", "mistral", "openai-completions"),
    ("api.mistral.ai", "/v1/agents/completions", "mistral", "openai-chat"),
    ("api.mistral.ai", "/v1/conversations", "mistral", "openai-responses"),
    ("api.deepseek.com", "/chat/completions", "deepseek", "openai-chat"),
    ("api.deepseek.com", "/beta/completions", "deepseek", "openai-completions"),
    ("api.deepseek.com", "/anthropic/v1/messages", "deepseek", "anthropic-messages"),
    ("dashscope.aliyuncs.com", "/compatible-mode/v1/chat/completions", "dashscope", "openai-chat"),
    ("dashscope-us.aliyuncs.com", "/apps/anthropic/v1/messages", "dashscope", "anthropic-messages"),
    (
        "ws1.cn-beijing.maas.aliyuncs.com",
        "/compatible-mode/v1/responses",
        "dashscope",
        "openai-responses",
    ),
    (
        "token-plan.cn-beijing.maas.aliyuncs.com",
        "/api/v1/services/aigc/text-generation/generation",
        "dashscope",
        "dashscope",
    ),
    ("portal.qwen.ai", "/v1/chat/completions", "qwen-code", "openai-chat"),
    ("api.moonshot.cn", "/v1/chat/completions", "moonshot", "openai-chat"),
    ("api.moonshot.ai", "/anthropic/v1/messages", "moonshot", "anthropic-messages"),
    ("api.kimi.com", "/coding/v1/chat/completions", "moonshot", "openai-chat"),
    ("open.bigmodel.cn", "/api/paas/v4/chat/completions", "zhipu", "openai-chat"),
    ("api.z.ai", "/api/coding/paas/v4/chat/completions", "zhipu", "openai-chat"),
    ("api.z.ai", "/api/anthropic/v1/messages", "zhipu", "anthropic-messages"),
    ("api.minimax.io", "/v1/chat/completions", "minimax", "openai-chat"),
    ("api.minimaxi.com", "/anthropic/v1/messages", "minimax", "anthropic-messages"),
    ("api.x.ai", "/v1/responses", "xai", "openai-responses"),
    ("us.api.x.ai", "/v1/chat/completions", "xai", "openai-chat"),
    ("api.x.ai", "/v1/messages", "xai", "anthropic-messages"),
    ("api.groq.com", "/openai/v1/chat/completions", "groq", "openai-chat"),
    ("openrouter.ai", "/api/v1/chat/completions", "openrouter", "openai-chat"),
    ("api.together.xyz", "/v1/completions", "together", "openai-completions"),
    ("api.fireworks.ai", "/inference/v1/chat/completions", "fireworks", "openai-chat"),
    ("api.cerebras.ai", "/v1/chat/completions", "openai-compatible-gateways", "openai-chat"),
    ("ollama.com", "/api/generate", "openai-compatible-gateways", "openai-completions"),
    (
        "api2.cursor.sh",
        "/aiserver.v1.ChatService/StreamUnifiedChatWithTools",
        "cursor",
        "connect-proto",
    ),
    ("us-only.gcpp.cursor.sh", "/aiserver.v1.AiService/StreamCpp", "cursor", "connect-proto"),
    ("agentn.api5.cursor.sh", "/agent.v1.AgentService/Run", "cursor", "connect-proto"),
    (
        "server.codeium.com",
        "/exa.api_server_pb.ApiServerService/GetChatMessage",
        "windsurf",
        "connect-proto",
    ),
    (
        "server.self-serve.windsurf.com",
        "/exa.api_server_pb.ApiServerService/GetCompletions",
        "windsurf",
        "connect-proto",
    ),
    (
        "inference.codeium.com",
        "/exa.api_server_pb.ApiServerService/GetCompletions",
        "windsurf",
        "connect-proto",
    ),
    ("api.jetbrains.ai", "/user/v5/llm/chat/stream/v8", "jetbrains-ai", "jetbrains"),
    ("api.tabnine.com", "/chat/generate_chat_response", "tabnine", "tabnine"),
    ("sourcegraph.com", "/.api/completions/stream", "sourcegraph-cody", "cody"),
    ("sourcegraph.com", "/.api/completions/code", "sourcegraph-cody", "cody"),
    ("sourcegraph.com", "/.api/llm/chat/completions", "sourcegraph-cody", "openai-chat"),
    ("cloud.zed.dev", "/completions", "zed", "zed"),
    ("cloud.zed.dev", "/predict_edits/v2", "zed", "zed"),
]

TELEMETRY = [
    ("copilot-telemetry.githubusercontent.com", "/telemetry"),
    ("statsig.anthropic.com", "/v1/rgstr"),
    ("api.anthropic.com", "/api/oauth/usage"),
    ("cloudcode-pa.googleapis.com", "/v1internal:recordCodeAssistMetrics"),
    ("api2.cursor.sh", "/aiserver.v1.AnalyticsService/Batch"),
    ("api2.cursor.sh", "/aiserver.v1.ToolCallEventService/SubmitToolCallEvents"),
    ("unleash.codeium.com", "/api/client/features"),
    ("chat.qwen.ai", "/api/v1/oauth2/token"),
    ("api.jetbrains.ai", "/auth/jetbrains-jwt/provide-access/license/v2"),
]

# Hosts that also carry non-AI traffic are never decrypted by default.
NOT_AI = [
    "api.github.com",
    "uploads.github.com",
    "play.googleapis.com",
    "o1.ingest.sentry.io",
    "example.org",
    "amazonaws.com",
    "s3.us-east-1.amazonaws.com",
    "googleapis.com",
    "evil-aiplatform.googleapis.com.example",
    "api.openai.com.evil.test",
]


@pytest.mark.parametrize(("host", "path", "service", "family"), ROUTES)
def test_documented_endpoint_routes_to_family(
    host: str, path: str, service: str, family: str
) -> None:
    assert builtin_catalog().route(host, path) == Route(service, family, False)


@pytest.mark.parametrize(("host", "path"), TELEMETRY)
def test_telemetry_is_marked(host: str, path: str) -> None:
    route = builtin_catalog().route(host, path)
    assert route is not None
    assert route.telemetry


@pytest.mark.parametrize("host", NOT_AI)
def test_non_ai_hosts_are_not_routed(host: str) -> None:
    assert builtin_catalog().route(host, "/") is None


def test_every_issue_service_is_present() -> None:
    ids = {s.id for s in builtin_catalog().services}
    assert ids >= {
        "openai",
        "chatgpt-codex",
        "azure-openai",
        "anthropic",
        "bedrock",
        "amazon-q",
        "gemini",
        "vertex-ai",
        "gemini-code-assist",
        "copilot",
        "copilot-proxy",
        "mistral",
        "deepseek",
        "dashscope",
        "qwen-code",
        "moonshot",
        "zhipu",
        "minimax",
        "xai",
        "groq",
        "openrouter",
        "together",
        "fireworks",
        "cursor",
        "windsurf",
        "jetbrains-ai",
        "tabnine",
        "sourcegraph-cody",
        "zed",
    }


@pytest.mark.parametrize(
    ("pattern", "candidate", "allowed"),
    [
        ("bedrock-runtime.*.amazonaws.com", "bedrock-runtime.us-east-1.amazonaws.com:443", True),
        ("bedrock-runtime.*.amazonaws.com", "bedrock-runtime.a.b.amazonaws.com:443", False),
        ("bedrock-runtime.*.amazonaws.com", "s3.us-east-1.amazonaws.com:443", False),
        ("*-aiplatform.googleapis.com", "us-central1-aiplatform.googleapis.com:443", True),
        ("*-aiplatform.googleapis.com", "aiplatform.googleapis.com:443", False),
        ("*.maas.aliyuncs.com", "ws.cn-beijing.maas.aliyuncs.com:443", True),
    ],
)
def test_inner_wildcards_match_one_label(pattern: str, candidate: str, allowed: bool) -> None:
    assert bool(re.search(host_pattern_regex(pattern), candidate)) is allowed


def test_allow_hosts_cover_every_routed_host() -> None:
    patterns = builtin_catalog().allow_hosts()
    for host, *_ in ROUTES:
        assert any(re.search(p, f"{host}:443") for p in patterns), host


def test_config_services_add_and_override(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[services]]\nid = "corp"\nname = "Corp gateway"\nhosts = ["llm.corp.example"]\n'
        'profile = "openai-compatible"\n'
        'endpoints = [{ path = "/v2/generate", family = "openai-completions" }]\n'
        '[[services]]\nid = "openai"\nhosts = ["openai.proxy.corp.example"]\n'
        'family = "openai-chat"\n'
    )
    catalog = catalog_with(load_settings(config).services)
    assert catalog.route("llm.corp.example", "/v2/generate") == Route("corp", "openai-completions")
    assert catalog.route("llm.corp.example", "/v1/chat/completions") == Route("corp", "openai-chat")
    assert catalog.route("llm.corp.example", "/other") == Route("corp", "auto")
    assert catalog.route("openai.proxy.corp.example", "/x") == Route("openai", "openai-chat")
    assert catalog.route("api.openai.com", "/v1/chat/completions") is None  # replaced by id
    assert catalog.route("api.anthropic.com", "/v1/messages") is not None


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            'id = "x"\nhosts = ["a.example"]\nfamily = "nope"',
            "services[0]: service 'x': family: unknown family 'nope'",
        ),
        ('id = "x"\nhosts = []', "services[0]: service 'x': hosts: expected a non-empty list"),
        ('id = "x"\nhosts = ["a b"]', "bad host pattern 'a b'"),
        ('id = "x"\nhosts = ["a.example"]\ncolour = "red"', "unknown key 'colour'"),
        ('id = "x"\nhosts = ["a.example"]\nprofile = "nope"', "unknown profile 'nope'"),
        ('hosts = ["a.example"]', "services[0]: id: expected a lower-case service id"),
        (
            'id = "x"\nhosts = ["a.example"]\nendpoints = [{ path = "v1", family = "auto" }]',
            "endpoints[0].path: expected a path glob starting with '/'",
        ),
    ],
)
def test_bad_config_service_names_file_and_key(tmp_path: Path, table: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[[services]]\n{table}\n")
    with pytest.raises(ConfigError) as error:
        load_settings(config)
    assert str(error.value).startswith(str(config))
    assert message in str(error.value)


def test_duplicate_config_service_id_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[services]]\nid = "a"\nhosts = ["a.example"]\n' * 2)
    with pytest.raises(ConfigError, match="id 'a' is defined twice"):
        load_settings(config)
