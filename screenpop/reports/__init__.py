"""Reports from the call log: per queue, per agent and per disposition, by interval.

:mod:`~screenpop.reports.model` holds the query and the report (CSV, JSON, a text table),
:mod:`~screenpop.reports.intervals` the buckets in the center's time zone,
:mod:`~screenpop.reports.kinds` the registry of report kinds, and
:mod:`~screenpop.reports.service` the :class:`Reporter` that runs them on its own engine.
"""
