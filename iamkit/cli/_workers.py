"""Work split between this process and forked children, for the batch command line.

``python -m iamkit simulate --jsonl`` evaluates a large input in chunks. :func:`in_workers`
forks the children directly (``os.fork``: well under a millisecond each) instead of starting
a ``multiprocessing`` pool (its import and start cost about 50 ms, a seventh of a 2,000-line
run). This process works too, and every process takes the next chunk not yet taken, so a
share of slow lines, or a child slowed by another job on the machine, does not leave the
others waiting. The chunk numbers wait in a pipe: each process reads one at a time, and a
pipe hands each number to exactly one reader. The results come back in input order: this
process's as soon as every chunk before them is done, each child's from its own pipe once it
has finished.

A child that fails in any way (killed, an exception, a short read) costs nothing but time: the
chunks it took are done again here, so every chunk still gets its answer, exactly once.
"""

from __future__ import annotations

import marshal
import os
import sys
from typing import Any, Callable, Iterator, Sequence, TypeVar

__all__ = ["in_workers"]

T = TypeVar("T")
R = TypeVar("R")

_NUMBER = 4  # bytes of a chunk number in the pipe
_MOST_ITEMS = 1024  # every number fits the pipe at once: 4 KiB, the least buffer Linux gives a pipe


def in_workers(run: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``run(item)`` for every item, in order, shared between this process and ``workers - 1``
    forked children (none where this platform cannot fork, or for ``workers`` <= 1).

    ``run`` must depend only on its item and on what the children inherit; its results
    (built of strings, numbers, tuples and lists) come back through :mod:`marshal`, which is
    built in: no module to import at start-up, unlike pickle. At most 1,024 items.
    """
    if len(items) > _MOST_ITEMS:
        raise ValueError(f"in_workers takes at most {_MOST_ITEMS:,} items, not {len(items):,}")
    workers = min(workers, len(items)) if hasattr(os, "fork") else 1
    if workers <= 1:
        yield from map(run, items)
        return
    queue, fill = os.pipe()
    os.write(fill, b"".join(i.to_bytes(_NUMBER, "little") for i in range(len(items))))
    os.close(fill)  # once every number is taken, a read finds the end of the pipe
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    done: dict[int, R] = {}
    try:
        for _ in range(workers - 1):
            children.append(_fork(run, items, queue))
        following = 0
        for i in _taken(queue):
            done[i] = run(items[i])
            while following in done:
                yield done.pop(following)
                following += 1
        os.close(queue)
        queue = -1
        while children:
            pid, fd = children.pop(0)
            for i, result in _collect(pid, fd):
                if i >= following and i not in done:
                    done[i] = result
        for i in range(following, len(items)):  # in order; a failed child's chunks done here
            yield done.pop(i) if i in done else run(items[i])
    finally:
        if queue >= 0:
            os.close(queue)
        for pid, fd in children:  # stopped early (an interrupt, a closed output): stop them too
            import signal

            os.close(fd)
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except OSError:
                pass


def _taken(queue: int) -> Iterator[int]:
    """The chunk numbers this process takes from the queue, one at a time, until none is left."""
    while len(number := os.read(queue, _NUMBER)) == _NUMBER:
        yield int.from_bytes(number, "little")


def _fork(run: Callable[[T], R], items: Sequence[T], queue: int) -> tuple[int, int]:
    read, write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, and leave without running the parent's cleanup
        status = 1
        try:
            os.close(read)
            data = marshal.dumps([(i, run(items[i])) for i in _taken(queue)])
            with os.fdopen(write, "wb") as out:
                out.write(data)
            status = 0
        except BaseException:  # noqa: BLE001 — the parent does its chunks itself
            pass
        finally:
            os._exit(status)
    os.close(write)
    return pid, read


def _collect(pid: int, fd: int) -> list[tuple[int, Any]]:
    """A child's ``(chunk number, result)`` pairs, or none when it did not finish cleanly."""
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return []
    try:
        results = marshal.loads(data)
    except Exception:  # noqa: BLE001 — a short or broken message: its chunks are done again
        return []
    if not isinstance(results, list) or not all(isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], int)
                                                for r in results):
        return []
    return results
