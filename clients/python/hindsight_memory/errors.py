"""The error every Hindsight call raises."""


class HindsightError(Exception):
    """An error answered by the engine or server (``status``, ``code``) or a transport failure (status 0)."""

    def __init__(self, message, status=0, code="transport"):
        super().__init__(message)
        self.status = status
        self.code = code
