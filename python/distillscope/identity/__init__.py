"""Identity consistency: the identity registry, probe prompts, claim patterns, the claim extractor and loose/strict/hard rates."""

from .check import check_records, prompt_text, read_jsonl
from .claims import EXTRACTOR_VERSION, VERDICTS, Claim, ClaimExtractor, Span, Verdict, classify
from .formats import format_csv, format_markdown
from .probes import LANGUAGES, VARIANTS, Probe, build_probes, probe_bank
from .rates import IdentityRates, Rate, detect_language, identity_rates
from .registry import Entity, Family, IdentityRegistry, Registry, Target, Vendor

__all__ = [
    "EXTRACTOR_VERSION",
    "LANGUAGES",
    "VARIANTS",
    "VERDICTS",
    "Claim",
    "ClaimExtractor",
    "Entity",
    "Family",
    "IdentityRates",
    "IdentityRegistry",
    "Probe",
    "Rate",
    "Registry",
    "Span",
    "Target",
    "Vendor",
    "Verdict",
    "build_probes",
    "check_records",
    "classify",
    "detect_language",
    "format_csv",
    "format_markdown",
    "identity_rates",
    "probe_bank",
    "prompt_text",
    "read_jsonl",
]
