"""The PR body as Markdown (``markdown.render_body``, from the promotion record), escaping of
untrusted values (``escape``) and the body as a standalone HTML page (``html``).

Nothing is imported here: the slash-command path needs ``escape`` alone, not Jinja.
"""
