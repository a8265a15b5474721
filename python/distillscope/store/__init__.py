"""Responses: the append-only response store, importers of public outputs, and the one input loader every command uses."""
