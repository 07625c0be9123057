"""The one error type services raise for bad input: a clear, translated message."""


class RuleViolation(ValueError):
    """Input breaks a school rule; the message is shown to the user as is."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
