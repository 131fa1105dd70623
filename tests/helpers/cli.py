"""Running the blog's flask commands in tests as the `flask` command runs them."""

from __future__ import annotations

from flask.testing import FlaskCliRunner


class CommandRunner(FlaskCliRunner):
    """app.test_cli_runner() that pushes an app context for each command, as `flask --app
    wsgi COMMAND` does (FlaskGroup pushes one for every app command); a test holds none.

    Without it, a command registered with app.cli.add_command runs here outside any context,
    which never happens for real.
    """

    def invoke(self, cli=None, args=None, **kwargs):
        with self.app.app_context():
            return super().invoke(cli, args, **kwargs)
