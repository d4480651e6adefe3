"""docs/openapi/extensions.yaml against the running gateway: the document is valid OpenAPI 3,
every operation in it is called for real, and every answer's status is documented and its
JSON body matches the documented schema."""

from __future__ import annotations

import copy
import re
import uuid
from urllib.parse import quote
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from websockets.sync.client import connect as ws_connect

import support
from groups_support import Signed, config, handler

SPEC_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "extensions.yaml"


def load_spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def inline(node, spec: dict):
    """The schema with every `$ref` replaced by its target and OpenAPI's `nullable` as JSON
    Schema's `null` type."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return inline(copy.deepcopy(target), spec)
        out = {k: inline(v, spec) for k, v in node.items()}
        if out.pop("nullable", False) and "type" in out:
            out["type"] = [out["type"], "null"]
        return out
    if isinstance(node, list):
        return [inline(v, spec) for v in node]
    return node


def route_of(spec: dict, path: str) -> str:
    """The document's path template that `path` (relative to the stage) matches."""
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")) + "$"
        if re.match(pattern, path):
            return template
    raise AssertionError(f"{path} is not in the document")


def test_the_document_is_valid_openapi_3():
    validate(load_spec())


def test_every_operation_answers_as_documented(start_gateway):
    spec = load_spec()
    backend = support.LambdaBackend(handler)
    gw = start_gateway(config(backend), env=backend.gateway_env())
    api = Signed(gw.endpoint("dev"))
    called: set[tuple[str, str]] = set()

    def check(method: str, path: str, body=None, sign=True, expect: int | None = None):
        answer = api.call(method, path, body, sign=sign)
        route = route_of(spec, path.split("?")[0])
        operation = spec["paths"][route][method.lower()]
        responses = operation["responses"]
        assert str(answer.status) in responses, f"{method} {path}: {answer.status} is not documented"
        if expect is not None:
            assert answer.status == expect, answer
        documented = inline(responses[str(answer.status)], spec)
        content = documented.get("content", {}).get("application/json")
        if content:
            jsonschema.validate(answer.json, content["schema"])
        else:
            assert answer.json is None, f"{method} {path}: undocumented body {answer.raw!r}"
        called.add((route, method.lower()))
        return answer

    try:
        with ws_connect(f"{gw.ws_url}?tag={uuid.uuid4().hex}&user=ann&join=lobby", open_timeout=support.WAIT):
            cid = backend.wait_for(lambda e: e.get("requestContext", {}).get("eventType") == "CONNECT"
                                   and e.get("type") != "REQUEST")["requestContext"]["connectionId"]
            check("PUT", f"/@connections/{cid}/groups/room", expect=204)
            check("PUT", f"/@connections/{cid}/groups/bad%20name", expect=400)
            check("PUT", "/@connections/AAAAAAAAAAAAAAA=/groups/room", expect=410)
            check("POST", "/@groups/room", "hello", expect=200)
            check("POST", f"/@groups/room?exclude={quote(cid, safe='')}", "hello", expect=200)
            check("POST", "/@groups/room", "x" * 131_073, expect=413)
            check("POST", "/@groups/room", "x", sign=False, expect=403)
            check("GET", "/@groups/room?limit=1", expect=200)
            check("GET", "/@groups/lobby?limit=0", expect=400)
            check("POST", "/@connections", "to all", expect=200)
            check("GET", "/@connections?group=room&user=ann&limit=5", expect=200)
            check("POST", "/@users/ann", "hi", expect=200)
            check("GET", "/@users/ann", expect=200)
            check("DELETE", f"/@connections/{cid}/groups/room", expect=204)
            check("DELETE", "/@users/ann", expect=200)
    finally:
        backend.close()
    every = {(route, m) for route, item in spec["paths"].items() for m in item if m != "parameters"}
    assert every <= called, f"operations of the document never called: {every - called}"
