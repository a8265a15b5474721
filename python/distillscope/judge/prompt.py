"""The judge prompt: the system instructions, answer clipping and the chat messages of one request."""

from __future__ import annotations

JUDGE_PROMPT_VERSION = "rse-judge-1"

_SYSTEM = (
    "You will see one user request and two answers to it, written by two different AI assistants. Do not "
    "decide which answer is better. Judge how much the two answers resemble each other, the way an examiner "
    "would look for signs that one was imitated from the other or that both were learned from the same "
    "source.\n\n"
    "Rate each aspect from 1 (nothing in common) to 5 (practically the same):\n"
    "- style: voice and tone, formatting (headings, bullet or numbered lists, bold text, code blocks, "
    "tables), length, recurring phrases, and the way each answer opens and signs off.\n"
    "- structure: the shape of the reasoning — which points are made in which order, how the explanation "
    "or procedure is split into steps or sections, where the conclusion sits.\n"
    "- content: the particular facts, examples, figures, caveats and recommendations. Count shared "
    "specifics, not a shared topic.\n\n"
    "Then rate the overall resemblance from 1 to 5:\n"
    "1 = unrelated beyond what the request itself forces;\n"
    "2 = faint: the same obvious points, otherwise different;\n"
    "3 = clear overlap in structure or in details, yet plausibly written independently;\n"
    "4 = strong: parallel structure and many of the same specific details or wordings;\n"
    "5 = one reads as a copy or a light rewording of the other.\n\n"
    "Overlap that any competent answer must have (for example both giving the one correct fact that was "
    "asked for) counts for little. Correctness, quality and length alone are not resemblance. The order in "
    "which the answers are shown means nothing.\n\n"
    'Answer with a single JSON object and no other text. Its keys: "style", "structure", "content" and '
    '"overall", each an integer from 1 to 5, and "reason", one short sentence.'
)


def _clip_text(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters not shown]"


def judge_messages(
    prompt: str | None, first: str, second: str, *, max_answer_chars: int = 6000
) -> list[dict[str, str]]:
    """The chat messages of one judge request (system + user)."""
    req = prompt if prompt else "(the request text is not available; judge from the answers alone)"
    user = (
        f"<request>\n{_clip_text(req, max_answer_chars)}\n</request>\n\n"
        f"<answer_1>\n{_clip_text(first, max_answer_chars)}\n</answer_1>\n\n"
        f"<answer_2>\n{_clip_text(second, max_answer_chars)}\n</answer_2>"
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


__all__ = ["JUDGE_PROMPT_VERSION", "judge_messages"]
