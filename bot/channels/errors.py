"""What a webhook answers when a request cannot be accepted."""


class SignatureError(Exception):
    """The request is not signed with our token: answer 403."""


class MalformedMessage(Exception):
    """The request is signed but cannot be read: answer 400."""
