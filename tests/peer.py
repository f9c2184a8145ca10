"""Where the peer captures live: `../shared/samples/peer`, never copied into the repository.

Set ``SCREENPOP_PEER_SAMPLES`` to read them from elsewhere. Where they are absent, a test that
needs one skips, saying where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER = Path(
    os.environ.get("SCREENPOP_PEER_SAMPLES") or REPO_ROOT.parent / "shared" / "samples" / "peer"
)


def peer_file(rel: str) -> Path:
    """The peer capture `rel` (e.g. ``twilio/signature_vectors.json``), or skip the test."""
    path = PEER / rel
    if not path.is_file():
        pytest.skip(
            f"peer capture {rel} not found at {path}; tests of peer captures need "
            "../shared/samples/peer (or SCREENPOP_PEER_SAMPLES)"
        )
    return path
