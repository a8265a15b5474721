"""Analysis: the score table, the similarity pipeline, the distillation degree with bootstrap intervals, attribution and the report."""

from .agreement import judge_agreement, spearman_rows
from .attribution import attribute, degree_matrix
from .degree import DEFAULT_WEIGHTS, DegreeConfig, DegreeResult, compute_degrees
from .report import redraw, write_report
from .similarity import RSEConfig, response_similarity
from .table import ScoreTable

__all__ = [
    "DEFAULT_WEIGHTS",
    "DegreeConfig",
    "DegreeResult",
    "RSEConfig",
    "ScoreTable",
    "attribute",
    "compute_degrees",
    "degree_matrix",
    "judge_agreement",
    "redraw",
    "response_similarity",
    "spearman_rows",
    "write_report",
]
