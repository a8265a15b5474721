"""Analysis: the score table, the similarity pipeline, the distillation degree with bootstrap intervals, attribution and the report."""
