"""Where pushes go when no WeChat credentials are configured (the demo): the server's log."""
from __future__ import annotations

import logging

log = logging.getLogger("wishbot.push")


class LoggingSender:
    def __init__(self, what: str):
        self.what = what

    def send_text(self, target: str, content: str, *args, **kwargs) -> None:
        log.info("%s to %s (not configured, shown here):\n%s", self.what, target, content)

    def send_template(self, target: str, template_id: str, data: dict, **kwargs) -> None:
        fields = "；".join(value for value in data.values())
        log.info("%s (template %s) to %s (not configured, shown here):\n%s", self.what, template_id, target, fields)
