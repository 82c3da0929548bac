"""A chat driver: talks to the app over the real signed and encrypted protocol, and reads
what reached the local WeChat API server."""
from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs

from bot.channels import simulate

from .conftest import AES_KEY, APPID, TOKEN

_message_ids = itertools.count(7_000_000_000_000_000_000)


class Chat:
    def __init__(self, client, app, api_server, mode: str = "safe"):
        self.client = client
        self.app = app
        self.api = api_server
        self.mode = mode

    @property
    def runtime(self):
        return self.app.extensions["wishbot"]

    def post(self, xml: str, *, mode: str | None = None):
        mode = mode or self.mode
        aes_key = None if mode == "plain" else AES_KEY
        params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=aes_key,
                                             mode="safe" if mode == "plain" else mode)
        response = self.client.post("/wechat", query_string=params, data=body, content_type="text/xml")
        assert response.status_code == 200, response.data
        return simulate.read_reply(response.data, token=TOKEN, appid=APPID, aes_key=aes_key)

    def say(self, openid: str, text: str, *, msg_id: int | None = None, mode: str | None = None) -> str:
        xml = simulate.build_text_message(openid, text, msg_id=msg_id or next(_message_ids))
        return self.post(xml, mode=mode)

    def dialog(self, turns: list[tuple[str, str, str | None]]) -> None:
        """A transcript: each (who, said, reply) is said in turn and must get exactly that reply.
        The whole transcript is compared at once, so a failure shows every turn that differed."""
        heard = [(who, said, self.say(who, said)) for who, said, _reply in turns]
        assert heard == list(turns), "\n".join(
            f"{who} said {said!r}\n  expected {want!r}\n  heard    {got!r}"
            for (who, said, want), (_, _, got) in zip(turns, heard) if want != got)

    def voice(self, openid: str, recognition: str) -> str:
        return self.post(simulate.build_voice_message(openid, recognition, msg_id=next(_message_ids)))

    def photo(self, openid: str, media_id: str) -> str:
        return self.post(simulate.build_image_message(openid, media_id, "http://127.0.0.1/p.jpg",
                                                      msg_id=next(_message_ids)))

    def event(self, openid: str, event: str, create_time: int | None = None) -> str | None:
        return self.post(simulate.build_event(openid, event, create_time=create_time))

    def settle(self) -> None:
        """Wait until queued notices have been tried."""
        self.runtime.jobs.join()

    def _calls(self, path: str) -> list[tuple[dict, dict]]:
        self.settle()
        calls = []
        for request, _response in self.api.log:
            if request.path == path:
                calls.append((parse_qs(request.query_string.decode()), json.loads(request.data)))
        return calls

    def group_pushes(self, key: str | None = None) -> list[str]:
        """Texts the group robots received (for one robot key, or all)."""
        return [body[body["msgtype"]]["content"] for query, body in self._calls("/cgi-bin/webhook/send")
                if key is None or query.get("key") == [key]]

    def private_notices(self, openid: str | None = None) -> list[str]:
        return [body["text"]["content"] for _query, body in self._calls("/cgi-bin/message/custom/send")
                if openid is None or body["touser"] == openid]
