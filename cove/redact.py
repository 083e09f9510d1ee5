"""Last line of defence for secrets: whatever reaches an event, a status_reason or a log line
through the conductor passes through ``redact``. Drivers keep secrets out of their messages in
the first place; this catches what a tool echoes back (a join command line, a key)."""

from __future__ import annotations

import re

_PATTERNS = (
    # --token VALUE, --token=VALUE. First: after the join-token pattern it would replace
    # part of that placeholder ("--token <secret> token>").
    (re.compile(r"(--token[ =])\S+"), r"\1<secret>"),
    # Docker swarm join tokens.
    (re.compile(r"SWMTKN-[0-9A-Za-z-]+"), "<join token>"),
    # PEM private keys of any kind.
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        "<private key>",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
