"""execs.demux(): the engine's multiplexed exec stream (non-TTY) back into bytes."""

from __future__ import annotations

import struct

from cove.providers.docker.execs import demux


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(payload)) + payload


def test_stdout_and_stderr_are_merged_in_order() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n")
    assert demux(data) == b"out\nerr\nmore\n"


def test_empty_frames_and_stream() -> None:
    assert demux(b"") == b""
    assert demux(frame(1, b"") + frame(1, b"x")) == b"x"


def test_truncated_last_frame_gives_what_arrived() -> None:
    data = frame(1, b"whole") + frame(1, b"partial")[:-3]
    assert demux(data) == b"wholepart"
    assert demux(frame(1, b"abc")[:5]) == b""  # not even a full header
