"""Secrets never reach a record, a log or a message (issue 13): redaction
runs before an excerpt is cut, and a key prefix left at the cut goes too."""

from __future__ import annotations

import json

import pytest

from distillscope.gather.config import ModelConfig
from distillscope.gather.limits import REDACTED, Redactor, parse_completion

KEY = "sk-live-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def test_whole_key_and_bearer_value_are_replaced():
    r = Redactor([KEY])
    assert r(f"bad key {KEY} given") == f"bad key {REDACTED} given"
    assert KEY not in r(f"Authorization: Bearer {KEY}")


@pytest.mark.parametrize("cut", range(1, len(KEY)))
def test_an_excerpt_that_cuts_the_key_keeps_no_prefix_of_8_or_more(cut):
    r = Redactor([KEY])
    head = "x" * 50
    # the key is cut by the server itself, so whole-key replacement misses it
    out = r.excerpt(head + KEY[:cut], 50 + cut)
    if cut >= 8:
        assert KEY[:8] not in out
        assert out.endswith(REDACTED)
    # redaction before truncation: a whole key straddling the cut is gone
    out2 = r.excerpt(head + KEY + "tail", 50 + cut)
    assert KEY[: min(cut, 8)] not in out2 or cut < 8
    assert KEY[:8] not in out2


def test_a_masked_echo_of_the_key_is_redacted():
    r = Redactor([KEY])
    masked = KEY[:20] + "****" + KEY[-4:]
    assert KEY[:20] not in r(f"Incorrect API key provided: {masked}")


def test_api_key_headers_are_secrets_too():
    m = ModelConfig("m", "http://127.0.0.1:1/v1", "a", headers={"api-key": "azure-secret-value-123"})
    r = Redactor.for_models([m])
    assert "azure-secret-value-123" not in r("echo azure-secret-value-123")


def test_a_success_body_echoing_the_key_is_stored_redacted():
    body = json.dumps({"choices": [{"message": {"content": f"your key is {KEY}"}, "finish_reason": KEY}]})
    res, fail = parse_completion(body.encode(), Redactor([KEY]))
    assert fail is None
    assert KEY not in json.dumps(res)


def test_a_non_json_body_excerpt_is_redacted_before_the_cut():
    body = ("y" * 110 + KEY).encode()
    res, fail = parse_completion(body, Redactor([KEY]))
    assert res is None and KEY[:8] not in fail.message


@pytest.mark.parametrize("depth", [900, 5_000, 200_000])
def test_deeply_nested_json_is_a_failure_not_a_crash(depth):
    body = b'{"choices": [{"message": {"content": "x"}}], "x": ' + b"[" * depth + b"]" * depth + b"}"
    res, fail = parse_completion(body, Redactor([KEY]))
    if fail is not None:
        assert fail.kind == "malformed_json" and "nested" in fail.message
    else:
        assert res["response"] == "x"


@pytest.mark.parametrize("usage", [{"total_tokens": 1e400}, {"total_tokens": -5}, {"x": "NaN"}, []])
def test_odd_usage_values_are_dropped(usage):
    body = json.dumps({"choices": [{"message": {"content": "x"}}], "usage": usage}).replace("Infinity", "1e400")
    res, fail = parse_completion(body.encode())
    assert fail is None and res["usage"] in (None, {})
