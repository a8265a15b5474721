"""Gathering: configs, prompts, the resumable plan, rate limits and retries, the async run, and the simulated server."""

from .config import GatherConfig, ModelConfig, PromptSource, config_from_dict, load_config
from .limits import TokenBucket, classify_status, estimate_tokens, parse_retry_after
from .plan import ModelPlan, Plan, plan
from .progress import Progress
from .prompts import Prompt, RequestSpec, load_prompts, params_hash, request_body, request_params
from .run import GatherReport, ModelReport, RequestsResult, gather, gather_async, run_requests, run_requests_async
from .simserver import Faults, SimReply, SimServer, copy_responder, default_responder

__all__ = [
    "Faults",
    "GatherConfig",
    "GatherReport",
    "ModelConfig",
    "ModelPlan",
    "ModelReport",
    "Plan",
    "Progress",
    "Prompt",
    "PromptSource",
    "RequestSpec",
    "RequestsResult",
    "SimReply",
    "SimServer",
    "TokenBucket",
    "classify_status",
    "config_from_dict",
    "copy_responder",
    "default_responder",
    "estimate_tokens",
    "gather",
    "gather_async",
    "load_config",
    "load_prompts",
    "params_hash",
    "parse_retry_after",
    "plan",
    "request_body",
    "request_params",
    "run_requests",
    "run_requests_async",
]
