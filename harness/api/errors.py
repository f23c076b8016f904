"""One exception type for mistakes a user can fix; the CLI prints it as a single line."""
import re

import click


class UserError(click.ClickException):
    """A problem with the user's input or environment, with what to do about it.

    Subclassing click's exception means the CLI prints ``Error: <message>`` and exits
    with status 2 instead of showing a traceback.
    """

    exit_code = 2

    def format_message(self) -> str:
        """The message on one line, also when it quotes a library's multi-line one (pandas' parser errors)."""
        return re.sub(r"\s*\n\s*", " ", self.message.strip())
