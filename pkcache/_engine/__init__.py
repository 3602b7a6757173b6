"""The per-function engine: what the decorator asks for keys, lookups, stores and locks."""
