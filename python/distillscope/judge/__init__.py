"""Optional LLM judges (pair similarity, identity) that run through the gatherer."""

from .agreement import agreement_report, render_agreement, render_summary, to_score_table
from .identity import IdentityJudge
from .items import JudgeConfig, JudgeItem, build_items, parse_pairs, show_b_first
from .pairs import JudgeResult, gatherer_complete, judge_pairs
from .parse import ParsedJudgement, parse_pair_answer
from .prompt import JUDGE_PROMPT_VERSION, judge_messages

__all__ = [
    "JUDGE_PROMPT_VERSION",
    "IdentityJudge",
    "JudgeConfig",
    "JudgeItem",
    "JudgeResult",
    "ParsedJudgement",
    "agreement_report",
    "build_items",
    "gatherer_complete",
    "judge_messages",
    "judge_pairs",
    "parse_pair_answer",
    "parse_pairs",
    "render_agreement",
    "render_summary",
    "show_b_first",
    "to_score_table",
]
