"""Optional LLM judges (pair similarity, identity) that run through the gatherer."""
