"""A value for a systemd EnvironmentFile line `KEY="value"`: backslashes and quotes escaped, line breaks refused."""

from __future__ import annotations


def env_quote(value) -> str:
    text = str(value)
    if "\n" in text or "\r" in text or "\0" in text:
        raise ValueError("a setting for an environment file cannot hold a line break or a NUL")
    return text.replace("\\", "\\\\").replace('"', '\\"')


class FilterModule:
    def filters(self):
        return {"pst_env_quote": env_quote}
