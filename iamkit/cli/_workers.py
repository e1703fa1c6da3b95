"""Work split between this process and forked children, for the batch command line.

``python -m iamkit simulate --jsonl`` evaluates a large input in chunks. :func:`in_workers`
forks the children directly (``os.fork``: well under a millisecond each) instead of starting
a ``multiprocessing`` pool (its import and start cost about 50 ms, a seventh of a 2,000-line
run), gives each process one contiguous share of the chunks, and lets this process do the first
share itself while the children do theirs. The results come back in input order: this process's
as it computes them, then each child's, read from a pipe once the child is done.

A child that fails in any way (killed, an exception, a short read) costs nothing but time: its
share is done again here, so every line still gets its answer.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import Callable, Iterator, Sequence, TypeVar

__all__ = ["in_workers"]

T = TypeVar("T")
R = TypeVar("R")


def in_workers(run: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``run(item)`` for every item, in order, shared between this process and ``workers - 1``
    forked children (none where this platform cannot fork, or for ``workers`` <= 1).

    ``run`` must depend only on its item and on what the children inherit; its results
    (built of strings, numbers, tuples and lists) come back through :mod:`marshal`, which is
    built in: no module to import at start-up, unlike pickle.
    """
    shares = _shares(len(items), workers if hasattr(os, "fork") else 1)
    children: list[tuple[int, int, range]] = []  # (pid, read end of its pipe, its items)
    try:
        for share in shares[1:]:
            children.append(_fork(run, items, share))
        for i in shares[0]:
            yield run(items[i])
        while children:
            pid, fd, share = children.pop(0)
            results = _collect(pid, fd)
            if results is None or len(results) != len(share):  # the child failed: do its share here
                results = [run(items[i]) for i in share]
            yield from results
    finally:
        for pid, fd, _ in children:  # stopped early (an interrupt, a closed output): stop them too
            import signal

            os.close(fd)
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _shares(count: int, workers: int) -> list[range]:
    """``range(count)`` cut into ``workers`` contiguous shares as even as they can be."""
    workers = max(1, min(workers, count))
    size, extra = divmod(count, workers)
    shares, start = [], 0
    for k in range(workers):
        end = start + size + (k < extra)
        shares.append(range(start, end))
        start = end
    return shares


def _fork(run: Callable[[T], R], items: Sequence[T], share: range) -> tuple[int, int, range]:
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's cleanup
        status = 1
        try:
            os.close(read)
            data = marshal.dumps([run(items[i]) for i in share])
            with os.fdopen(write, "wb") as out:
                out.write(data)
            status = 0
        except BaseException:  # noqa: BLE001 — the parent does this share itself
            pass
        finally:
            os._exit(status)
    os.close(write)
    return pid, read, share


def _collect(pid: int, fd: int) -> list | None:
    """A child's results, or None when it did not finish cleanly."""
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    try:
        results = marshal.loads(data)
    except Exception:  # noqa: BLE001 — a short or broken message: the share is done again
        return None
    return results if isinstance(results, list) else None
