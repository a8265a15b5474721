"""Identity consistency: the identity registry, probe prompts, claim patterns, the claim extractor and loose/strict/hard rates."""
