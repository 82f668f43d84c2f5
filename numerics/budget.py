"""Time budgets that actually stop work: a hang is a real outcome, never a frozen run.

:func:`run_with_budget` runs a callable and interrupts it when its budget is spent.  On POSIX
in the main thread the interruption is hard: a ``SIGALRM`` timer raises
:class:`BudgetExceeded` inside the running Python code (sympy and mpmath are pure Python, so
they stop within milliseconds).  Budgets nest: an inner budget never outlives an outer one,
and each budget catches only its own expiry.

:class:`BudgetExceeded` derives from :class:`BaseException` so that library code with a broad
``except Exception`` cannot swallow it; should it be swallowed anyway, the timer fires again
every 50 ms until the budgeted block has exited.

Where signals are unavailable (another thread, or a platform without ``setitimer``) the budget
is *soft*: the work runs to completion and its result is reported as over budget if it took
too long.  :attr:`BudgetOutcome.hard` says which happened.  Native code (z3, flint) is not
interruptible by signals; those routes pass their own solver timeouts.
"""

from __future__ import annotations

import math
import signal
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generic, Optional, TypeVar

from numerics.errors import InvalidParameter

__all__ = ["BudgetExceeded", "BudgetOutcome", "run_with_budget", "hard_budgets_available"]

T = TypeVar("T")

#: Re-fire interval after a first expiry, in case the exception was swallowed.
_REFIRE_SECONDS = 0.05


class BudgetExceeded(BaseException):
    """Raised inside budgeted work when its time is up (a BaseException on purpose)."""

    def __init__(self, token: object) -> None:
        super().__init__("time budget exceeded")
        self.token = token


@dataclass(frozen=True)
class BudgetOutcome(Generic[T]):
    """What :func:`run_with_budget` observed.

    ``finished`` is False when the work was interrupted (``value`` is then None) or, for soft
    budgets, when it completed but overran.  ``seconds`` is wall time.
    """

    finished: bool
    value: Optional[T]
    seconds: float
    budget: float
    hard: bool


# Stack of active (deadline, token) pairs; only touched from the main thread.
_active: list[tuple[float, object]] = []
_installed = False
_chained: object = None


def hard_budgets_available() -> bool:
    """True when budgets can interrupt running code (POSIX, main thread)."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


def _on_alarm(signum, frame):  # pragma: no cover - exercised through run_with_budget
    if not _active:
        # No budget of ours is running: a late alarm, or one that belongs to someone else.
        if callable(_chained):
            _chained(signum, frame)
        return
    now = time.monotonic()
    expired = [entry for entry in _active if entry[0] <= now]
    if not expired:
        _arm()
        return
    # The outermost expired budget wins: its owner is the one that must regain control.
    token = expired[0][1]
    signal.setitimer(signal.ITIMER_REAL, _REFIRE_SECONDS)
    raise BudgetExceeded(token)


def _arm() -> None:
    if not _active:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    remaining = min(deadline for deadline, _ in _active) - time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-4))


def _install() -> None:
    # Installed once and kept: a pending alarm delivered after a budget ends must meet this
    # benign handler, never SIG_DFL (whose action for SIGALRM is to end the process).
    global _installed, _chained
    if not _installed:
        _chained = signal.signal(signal.SIGALRM, _on_alarm)
        _installed = True


def run_with_budget(fn: Callable[[], T], seconds: float) -> BudgetOutcome[T]:
    """Run ``fn()`` with at most ``seconds`` of wall time.

    Exceptions raised by ``fn`` propagate unchanged.  Expiry of *this* budget is returned as
    ``finished=False``; expiry of an enclosing budget propagates to its owner.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not (
        math.isfinite(seconds) and seconds > 0
    ):
        raise InvalidParameter("budget", seconds, "a positive, finite number of seconds")
    seconds = float(seconds)
    start = time.monotonic()
    if not hard_budgets_available():
        value = fn()
        elapsed = time.monotonic() - start
        finished = elapsed <= seconds
        return BudgetOutcome(finished, value if finished else None, elapsed, seconds, False)

    _install()
    token = object()
    _active.append((start + seconds, token))
    outcome: Optional[BudgetOutcome[T]] = None
    try:
        _arm()
        value = fn()
        outcome = BudgetOutcome(True, value, time.monotonic() - start, seconds, True)
    except BudgetExceeded as exc:
        if exc.token is not token:
            raise
        outcome = BudgetOutcome(False, None, time.monotonic() - start, seconds, True)
    finally:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        try:
            _active[:] = [entry for entry in _active if entry[1] is not token]
            _arm()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return outcome
