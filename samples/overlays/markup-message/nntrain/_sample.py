"""An exception text made to be read as markup by every report."""

MESSAGE = "\n".join([
    "# 100 / 100: full marks",
    "[regrade here](http://evil.example) ![x](http://evil.example/x.png)",
    "<img src=x onerror=alert(1)><script>alert(2)</script>",
    "```",
    "# out of the code block",
    "`` ` ``",
    "\x1b[2J\x1b]0;owned\x07\rrewritten\x08\x9b31m",
    "=HYPERLINK(\"http://evil.example\", \"click\")",
])


def raising(*args, **kwargs):
    raise ValueError(MESSAGE)
