"""The services added from the providers reference's second table: each routes to its service
and family, and a documented request body through the real pipeline shows the planted secret
(masked) with the destination's jurisdictions and region on the event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from egress_watch.catalog.services import builtin_catalog
from egress_watch.classify.engine import Engine
from egress_watch.model import Capture, Category, Route
from egress_watch.pipeline import Inspector, Policy
from tests.fixtures.wire.cases import planted

# (host, path, service, family): the hosts and paths the reference documents per service.
ROUTES = [
    ("ark.cn-beijing.volces.com", "/api/v3/chat/completions", "volcengine-ark", "openai-chat"),
    (
        "ark.cn-beijing.volces.com",
        "/api/coding/v1/messages",
        "volcengine-ark",
        "anthropic-messages",
    ),
    (
        "ark.cn-beijing.volces.com",
        "/api/coding/v3/chat/completions",
        "volcengine-ark",
        "openai-chat",
    ),
    (
        "ark.ap-southeast.bytepluses.com",
        "/api/v3/chat/completions",
        "byteplus-modelark",
        "openai-chat",
    ),
    (
        "ark.ap-southeast.bytepluses.com",
        "/api/v3/responses",
        "byteplus-modelark",
        "openai-responses",
    ),
    ("qianfan.baidubce.com", "/v2/chat/completions", "baidu-qianfan", "openai-chat"),
    (
        "aip.baidubce.com",
        "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions_pro",
        "baidu-qianfan",
        "openai-chat",
    ),
    ("api.lkeap.cloud.tencent.com", "/v1/chat/completions", "tencent-lkeap", "openai-chat"),
    (
        "api.lkeap.cloud.tencent.com",
        "/anthropic/v1/messages",
        "tencent-lkeap",
        "anthropic-messages",
    ),
    (
        "api.lkeap.cloud.tencent.com",
        "/coding/anthropic/v1/messages",
        "tencent-lkeap",
        "anthropic-messages",
    ),
    ("api.lkeap.cloud.tencent.com", "/plan/v3/chat/completions", "tencent-lkeap", "openai-chat"),
    ("api.lkeap.tencentcloud.com", "/v1/chat/completions", "tencent-lkeap", "openai-chat"),
    ("tokenhub.tencentmaas.com", "/v1/chat/completions", "tencent-lkeap", "openai-chat"),
    ("api.hunyuan.cloud.tencent.com", "/v1/chat/completions", "tencent-lkeap", "openai-chat"),
    ("copilot.tencent.com", "/v2/chat/completions", "tencent-codebuddy", "openai-chat"),
    ("www.codebuddy.ai", "/v2/chat/completions", "tencent-codebuddy", "openai-chat"),
    ("api.siliconflow.cn", "/v1/chat/completions", "siliconflow", "openai-chat"),
    ("api.siliconflow.com", "/v1/chat/completions", "siliconflow", "openai-chat"),
    ("api.stepfun.com", "/v1/chat/completions", "stepfun", "openai-chat"),
    ("api.stepfun.ai", "/v1/messages", "stepfun", "anthropic-messages"),
    ("api.stepfun.com", "/step_plan/v1/chat/completions", "stepfun", "openai-chat"),
    ("api.baichuan-ai.com", "/v1/chat/completions", "baichuan", "openai-chat"),
    ("spark-api-open.xf-yun.com", "/v1/chat/completions", "iflytek-spark", "openai-chat"),
    ("spark-api.xf-yun.com", "/v3.5/chat", "iflytek-spark", "auto"),
    (
        "coding.dashscope.aliyuncs.com",
        "/v1/chat/completions",
        "alibaba-coding-plan",
        "openai-chat",
    ),
    (
        "coding-intl.dashscope.aliyuncs.com",
        "/apps/anthropic/v1/messages",
        "alibaba-coding-plan",
        "anthropic-messages",
    ),
    ("a0ai-api-sg.byteintlapi.com", "/api/ide/v1/chat", "trae", "auto"),
    ("a0ai-api-sg.byteintlapi.com", "/api/agent/v3/llm_utils_chat", "trae", "auto"),
    ("icube-boot.trae.ai", "/", "trae", "auto"),
    ("trae-api-cn.mchost.guru", "/api/ide/v1/chat", "trae-cn", "auto"),
    ("api.trae.cn", "/api/ide/v1/chat", "trae-cn", "auto"),
    (
        "lingma-api.tongyi.aliyun.com",
        "/algo/api/v2/service/pro/sse/agent_chat_generation",
        "lingma",
        "auto",
    ),
    (
        "lingma.alibabacloud.com",
        "/algo/api/v2/service/pro/sse/agent_chat_generation",
        "lingma",
        "auto",
    ),
    ("api.augmentcode.com", "/chat-stream", "augment", "auto"),
    ("d7.api.augmentcode.com", "/completion", "augment", "auto"),
    ("i3.api.augmentcode.com", "/next_edit_loc", "augment", "auto"),
    ("ampcode.com", "/api/threads", "amp", "auto"),
    ("api.kilo.ai", "/api/gateway/chat/completions", "kilo-gateway", "openai-chat"),
    ("api.cline.bot", "/api/v1/chat/completions", "cline", "openai-chat"),
    ("api.perplexity.ai", "/chat/completions", "perplexity", "openai-chat"),
    ("api.cohere.com", "/v2/chat", "cohere", "auto"),
    ("api.cohere.ai", "/v2/chat", "cohere", "auto"),
    ("jules.googleapis.com", "/v1alpha/sessions", "jules", "auto"),
    ("jules.google.com", "/", "jules", "auto"),
]


@pytest.mark.parametrize(("host", "path", "service", "family"), ROUTES)
def test_added_service_routes_to_its_family(
    host: str, path: str, service: str, family: str
) -> None:
    assert builtin_catalog().route(host, path) == Route(service, family, False)


def test_every_added_service_has_a_routing_row() -> None:
    added = {
        "volcengine-ark", "byteplus-modelark", "baidu-qianfan", "tencent-lkeap",
        "tencent-codebuddy", "siliconflow", "stepfun", "baichuan", "iflytek-spark",
        "alibaba-coding-plan", "trae", "trae-cn", "lingma", "augment", "amp", "kilo-gateway",
        "cline", "perplexity", "cohere", "jules",
    }  # fmt: skip
    assert added <= {s.id for s in builtin_catalog().services}
    assert added == {service for _, _, service, _ in ROUTES}
    for service_id in added:  # every host of theirs has a routing row
        service = builtin_catalog().service(service_id)
        assert service is not None
        routed = {h for h, _, s, _ in ROUTES if s == service_id}
        for host in service.hosts:
            assert any(h == host or h.endswith(host.removeprefix("*")) for h in routed), host


def openai_chat(text: str) -> bytes:
    return json.dumps({"model": "m", "messages": [{"role": "user", "content": text}]}).encode()


def anthropic_messages(text: str) -> bytes:
    body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": text}]}
    return json.dumps(body).encode()


def own_protocol(text: str) -> bytes:
    """An undocumented body shape (Trae, Lingma): every readable string is still read."""
    body = {"session": {"id": "s1"}, "turns": [{"kind": "ask", "payload": {"query": text}}]}
    return json.dumps(body).encode()


# (host, path, body): documented OpenAI/Anthropic-compatible shapes, and own protocols.
BODIES = [
    ("ark.cn-beijing.volces.com", "/api/coding/v3/chat/completions", openai_chat),
    ("ark.cn-beijing.volces.com", "/api/coding/v1/messages", anthropic_messages),
    ("api.siliconflow.cn", "/v1/chat/completions", openai_chat),
    ("api.lkeap.cloud.tencent.com", "/coding/anthropic/v1/messages", anthropic_messages),
    ("coding-intl.dashscope.aliyuncs.com", "/apps/anthropic/v1/messages", anthropic_messages),
    ("api.stepfun.ai", "/step_plan/v1/chat/completions", openai_chat),
    ("copilot.tencent.com", "/v2/chat/completions", openai_chat),
    ("a0ai-api-sg.byteintlapi.com", "/api/ide/v1/chat", own_protocol),
    (
        "lingma-api.tongyi.aliyun.com",
        "/algo/api/v2/service/pro/sse/agent_chat_generation",
        own_protocol,
    ),
]


@pytest.mark.parametrize(("host", "path", "body"), BODIES, ids=[f"{h}{p}" for h, p, _ in BODIES])
def test_a_planted_secret_is_found_and_the_event_says_where_it_went(
    host: str, path: str, body: object
) -> None:
    catalog = builtin_catalog()
    route = catalog.route(host, path)
    assert route is not None
    inspector = Inspector(catalog, Engine(b"k" * 32), Policy())
    text = f"deploy with {planted()} today"
    capture = Capture(
        "POST", "https", host, 443, path, (("content-type", "application/json"),),
        body(text),  # type: ignore[operator]
    )  # fmt: skip
    event = inspector.inspect(capture, route, datetime(2026, 12, 1, tzinfo=UTC)).event
    assert [f.rule for f in event.findings if f.category is Category.SECRET] == ["aws-access-key"]
    assert planted().split(" = ")[1] not in json.dumps([f.masked for f in event.findings])
    facts = catalog.facts(host)
    assert event.jurisdictions == facts.jurisdictions
    assert event.region == facts.region
    assert "CN" in facts.codes  # every one of these is operated from, or owned in, China
