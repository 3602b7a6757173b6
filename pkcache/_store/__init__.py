"""Stores: where entries live. A store knows paths, bytes, locks and metadata, not functions."""
