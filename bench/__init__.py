"""``python -m bench``: figures for the service, each next to a reference measured in the same run.

One module per benchmark (``load``, ``fit``, ``http``, ``batch``, ``startup``); each has a ``run``
that takes the shared :class:`bench.common.Context` and returns a :class:`bench.common.Result`.
Nothing here passes or fails on time: it prints figures.
"""
