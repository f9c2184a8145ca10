"""screenpop: caller screen-pop daemon for call centers."""

__version__ = "0.1.0"
