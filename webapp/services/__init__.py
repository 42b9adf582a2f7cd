"""Writes shared by the API, the pages, the CLI and the runner; callers commit."""
