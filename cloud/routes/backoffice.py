"""Placeholder: filled in by the backoffice work."""

routes: list = []
