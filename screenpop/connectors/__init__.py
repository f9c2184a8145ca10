"""Connectors as the core sees them: the contract (`contract`), the registry that builds and
starts the configured ones (`registry`), the guard rails each runs under (`guard`, `runtime`) and
the contract kit for plugin authors (`kit`). Plugin authors import the public paths
`screenpop.connector` and `screenpop.testing`, which stay stable."""
