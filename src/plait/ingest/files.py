"""Reading one local input file (an image, a caption sidecar): regular files only, capped.

A folder of images with a caption file each makes these reads the folder reader's main
cost, so a file is read in four system calls (open, fstat, read, close) where Python's
``open(...).read()`` makes about nine. Opening without blocking and checking the type
before reading keeps a FIFO from hanging the run and ``/dev/zero`` from never ending.
"""

from __future__ import annotations

import os
import stat

from plait.errors import InputError

# a FIFO opened without O_NONBLOCK would block until a writer came
_OPEN = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # 0 where the platform has no such flag


def read_regular(path: str, cap: int, flags: int = 0) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them.

    Raises :class:`InputError` ``not_a_file`` or ``too_large``; an ``OSError`` from the
    open or the read (a missing file, a symlink refused by ``flags=NOFOLLOW``) is the
    caller's to name."""
    fd = os.open(path, _OPEN | flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError("not_a_file", "not a regular file")
        if st.st_size > cap:
            raise InputError("too_large", f"{st.st_size} bytes exceeds the cap of {cap}")
        data = os.read(fd, st.st_size + 1)  # one read when the size is as fstat said
        while len(data) > st.st_size:  # the file grew since: read on, up to the cap
            more = os.read(fd, cap + 1 - len(data)) if len(data) <= cap else b""
            if not more:
                break
            data += more
        if len(data) > cap:
            raise InputError("too_large", f"more than {cap} bytes (the file grew while read)")
        return data
    finally:
        os.close(fd)
