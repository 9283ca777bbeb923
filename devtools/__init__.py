"""Developer tooling that only a checkout has: ``manage.py fake_braze`` and ``make demo``.

Not part of the package (pyproject.toml installs mpbraze, connections and mapping without the
fake Braze and the demo): settings add this app only when it can be imported, so a production
install has neither command.
"""
