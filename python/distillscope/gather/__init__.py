"""Gathering: configs, prompts, the resumable plan, rate limits and retries, the async run, and the simulated server."""
