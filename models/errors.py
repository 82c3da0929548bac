"""Typed domain errors: each carries a short reason meant for the user."""


class UserError(Exception):
    """A request the rules refuse; the message is the user's reply and nothing changes."""

    def __init__(self, reply: str):
        super().__init__(reply)
        self.reply = reply


class NotFound(UserError):
    pass


class NotAllowed(UserError):
    """The sender's role does not allow the command."""


class InvalidState(UserError):
    """The wish or claim is not in a state that allows the change."""


class AlreadyTaken(InvalidState):
    """Every slot of the wish is taken."""


class BadInput(UserError):
    pass
