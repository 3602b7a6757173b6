"""The local directory store: one signed file per entry, under a folder pkcache owns."""
