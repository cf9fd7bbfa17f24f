"""Placeholder: filled in by the quality work."""

routes: list = []
