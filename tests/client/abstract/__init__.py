"""Abstract contract tests, one class per client protocol (fsspec's ``tests/abstract``
style). A backend opts in by subclassing each class in a ``test_*.py`` module that
defines the ``connection`` fixture (a ``Connection``: the user-facing ``Backend`` plus
``supervision`` and ``reporting``). The classes are not collected on their own: their
names do not start with ``Test``."""
