"""The supervisor's queue board: its state (the sans-I/O :mod:`~screenpop.board.model` behind
the `BoardState` seam of :mod:`~screenpop.board.state`) and the coalescing feed
(:mod:`~screenpop.board.feed`) that publishes it."""
