"""The Redis store: one server's entries, shared by every machine that reaches it."""
