"""The pop pipeline, split by job: events in (:mod:`intake`), effects interpreted
(:mod:`effects`), card builds (:mod:`builds`), one call's messages in order (:mod:`deliveries`),
the call log (:mod:`call_log`), what agents do (:mod:`actions`), and the reloadable config they
all read (:mod:`live`). `screenpop.pops` assembles them, once their resources exist."""
