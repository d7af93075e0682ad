"""Worker processes that can be killed: every task runs under a time budget and a memory cap.

Untrusted files are parsed in these workers, not in the flow's process, so that a parser that never
ends or inflates a small file into gigabytes costs one document, not the machine::

    pool = GuardedPool("extraction", size=2, memory_bytes=2 << 30, address_space=True)
    doc = pool.call("lexprep.extract.router:extract", (data, name, kind, settings),
                    timeout_s=120, what="extracting")

A worker is a fresh interpreter (``python -c``, its own session, so a terminal's Ctrl-C reaches only
the parent, which ends the workers itself). It dies with its parent (``PR_SET_PDEATHSIG``; workers
are started from one long-lived thread, since that signal follows the starting thread), runs an
optional initializer once, then serves tasks one at a time and is reused. The parent waits for each
reply with the task's deadline and reads the worker's resident size (``/proc/PID/statm``) every
:data:`POLL_S` seconds: past the deadline or the cap the worker's whole process group (converters it
started included) is killed with SIGKILL and reaped (its peak is the largest resident size the parent saw:
not the kernel's ``ru_maxrss``, which a child inherits from the big process it was forked from), and the
call raises :class:`~lexprep.errors.LimitExceededError`:
"exceeded 120 s extracting", "exceeded 2 GiB of memory extracting". The worker also watches itself
while a task runs (a thread that exits with :data:`EXIT_OVER_MEMORY` past the cap), for when a loaded
machine does not schedule the parent in time. With ``address_space`` the worker
also sets ``RLIMIT_AS`` to the cap, so one huge allocation fails at once (MemoryError) instead of
racing the watcher (not for workers that load models: CUDA and onnxruntime reserve far more address
space than they use); a task that fails after its worker came within half of that limit is reported
as over the cap too (a C parser whose allocation failed may call it anything: lxml says "unknown
error"), and such a worker is replaced. A worker that dies on its own (a segfault in a C parser) raises
:class:`~lexprep.errors.CorruptFileError` naming the signal. A slot is given a new worker on its next
use; a worker whose resident size after a task stays above half the cap is replaced too.

Errors raised by the task itself come back with their class and message (the worker's traceback on
``exc.worker_traceback``) and leave the worker in service. Linux (``/proc``, prctl); elsewhere only the
time budget and ``RLIMIT_AS`` apply.
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import weakref
from multiprocessing.connection import Connection
from typing import Any, Callable

from lexprep.errors import ConfigurationError, CorruptFileError, LimitExceededError, RunInterrupted

log = logging.getLogger(__name__)

#: seconds between two looks at a busy worker (its reply, its resident size)
POLL_S = 0.05
#: seconds a new worker may take to import and run its initializer
START_TIMEOUT_S = 120.0
#: seconds between two looks of a busy worker at its own resident size (reading /proc/self/statm: ~10 µs)
SELF_POLL_S = 0.02
#: a worker's exit status when its own watch found it over the memory cap
EXIT_OVER_MEMORY = 86
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def format_bytes(n: int | float) -> str:
    """``2 GiB``, ``512 MiB``, ``3.5 GiB``, ``900 KiB``, ``12 B`` (binary units, at most one decimal)."""
    n = float(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 100 or value == int(value) else f"{value:.1f} {unit}"
    return f"{int(n)} B"


def format_seconds(s: float) -> str:
    """``120 s``, ``0.5 s``, ``0.05 s``."""
    return f"{s:.0f} s" if s == int(s) or s >= 10 else f"{s:.3g} s"


def rss_bytes(pid: int) -> int | None:
    """Resident size (bytes) of process ``pid``, None when it is gone or ``/proc`` is absent."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def resolve(ref: str | Callable) -> Callable:
    """A callable from ``"package.module:qualname"`` (or the callable itself)."""
    if callable(ref):
        return ref
    module, _, qualname = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _ref(fn: str | Callable) -> str:
    if isinstance(fn, str):
        return fn
    return f"{fn.__module__}:{fn.__qualname__}"


# ----------------------------------------------------------------------------- exceptions across the pipe


def _pack_exc(exc: BaseException) -> tuple:
    """An exception as (module, qualname, message, attributes, traceback text): every class survives,
    even those whose ``__init__`` takes other arguments than the message (MissingDependencyError)."""
    cls = type(exc)
    try:
        attrs = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
        pickle.dumps(attrs)
    except Exception:
        attrs = {}
    return (cls.__module__, cls.__qualname__, str(exc), attrs,
            "".join(traceback.format_exception(exc))[-4000:])


def _unpack_exc(packed: tuple) -> BaseException:
    module, qualname, message, attrs, tb = packed
    try:
        cls = resolve(f"{module}:{qualname}")
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            raise TypeError(qualname)
        exc = cls.__new__(cls)
        BaseException.__init__(exc, message)
        for key, value in attrs.items():
            setattr(exc, key, value)
    except Exception:
        exc = RuntimeError(f"{qualname}: {message}")
    exc.worker_traceback = tb  # type: ignore[attr-defined]
    return exc


# ----------------------------------------------------------------------------- in the worker


def _die_with_parent(parent: int) -> None:
    """Ask the kernel for SIGKILL when the parent dies (Linux), and leave if it is already gone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass
    if os.getppid() != parent:
        os._exit(1)


def _reset_peak() -> None:
    """Reset the kernel's peak resident size (VmHWM) so that it measures the next task alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _status_bytes(key: str) -> int | None:
    """A size line of ``/proc/self/status`` (``VmHWM``, ``VmPeak`` ...) in bytes, None when unknown."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return None


def _peak_rss() -> int:
    """Peak resident size (bytes) since the last :func:`_reset_peak` (the process's life elsewhere)."""
    peak = _status_bytes("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _vm_peak() -> int:
    """Peak virtual size (bytes) of this process, 0 when unknown."""
    return _status_bytes("VmPeak") or 0


def _out_of_memory(exc: BaseException, address_space: int | None) -> bool:
    """Whether ``exc`` (or what caused it) is an allocation that failed: a MemoryError, a C library's own
    report of one (lxml: "Memory allocation failed"), however a parser wrapped it; or, under an address
    space limit, any error once the process came within half of the limit (a C parser whose malloc
    failed may call it anything: lxml says "unknown error"; workers that came that close are replaced
    after each task, so the peak is this task's)."""
    if address_space and _vm_peak() >= address_space // 2:
        return True
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MemoryError) or "memory allocation failed" in str(current).lower():
            return True
        current = current.__cause__ or current.__context__
    return False


def _watch_self(cap: int, busy: threading.Event, conn: Connection, lock: threading.Lock) -> None:
    """The worker's own look at its resident size while a task runs: over ``cap`` it exits at once with
    :data:`EXIT_OVER_MEMORY`. A second line behind the parent's watch, which a loaded machine may not
    schedule in time (seen: a worker grew to 1.9 GiB past a 200 MiB cap); this thread needs the GIL,
    so a C parser holding it is left to the parent."""
    while True:
        busy.wait()
        rss = rss_bytes(os.getpid())
        if rss is not None and rss > cap and busy.is_set():
            if lock.acquire(timeout=0.2):  # the reply the parent reads, with this task's peak (VmHWM)
                try:
                    conn.send(("memory", None, _peak_rss(), True))
                except Exception:  # noqa: BLE001 - the exit status says it too
                    pass
            os._exit(EXIT_OVER_MEMORY)
        time.sleep(SELF_POLL_S)


def _serve(fd: int) -> None:
    """The worker's loop: configuration, initializer, then one task at a time until the pipe closes."""
    conn = Connection(fd)
    config = conn.recv()
    _die_with_parent(config["parent"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker ends
    logging.disable(logging.CRITICAL)  # parsers' own warnings have nobody to read them here
    cap = int(config["address_space"]) if config.get("address_space") else None
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    init_error = None
    if config.get("initializer"):
        try:
            resolve(config["initializer"])(*config.get("initargs", ()))
        except BaseException as exc:  # noqa: BLE001 - replayed in the parent
            init_error = _pack_exc(exc)
    conn.send(("ready", init_error))
    busy = threading.Event()
    lock = threading.Lock()  # one message at a time on the pipe (the task's reply, the watch's report)
    if config.get("memory_bytes"):
        threading.Thread(target=_watch_self, args=(int(config["memory_bytes"]), busy, conn, lock), daemon=True,
                         name="lexprep-memory-watch").start()
    while True:
        try:
            fn_ref, args = conn.recv()
        except EOFError:
            return
        except MemoryError:
            conn.send(("memory", None, _peak_rss(), True))
            return
        _reset_peak()
        busy.set()
        try:
            reply: tuple = ("ok", resolve(fn_ref)(*args))
        except BaseException as exc:  # noqa: BLE001 - replayed in the parent
            reply = ("memory", None) if _out_of_memory(exc, cap) else ("error", _pack_exc(exc))
        finally:
            busy.clear()
        args = None
        # the peak virtual size cannot be reset: past half the limit a fresh worker takes the next task
        leaving = bool(cap and _vm_peak() >= cap // 2)
        with lock:
            try:
                conn.send((*reply, _peak_rss(), leaving))
            except MemoryError:
                conn.send(("memory", None, _peak_rss(), True))
                return
            except Exception as exc:  # an unpicklable result
                conn.send(("error", _pack_exc(RuntimeError(f"result could not be sent back: {exc}")), _peak_rss(),
                           leaving))
        reply = None
        if leaving:
            return


# ----------------------------------------------------------------------------- in the parent

_BOOTSTRAP = "import sys, json; sys.path[:0] = json.loads(sys.argv[2]); from lexprep.sandbox import _serve; _serve(int(sys.argv[1]))"


class _Spawner:
    """Starts every worker from one long-lived thread: the kernel's parent-death signal follows the
    *thread* that started a process, so a worker started by a short-lived caller thread (an OCR page's)
    would be killed when that thread ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: list[tuple[tuple, dict, dict, threading.Event]] = []
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def popen(self, *args: Any, **kwargs: Any) -> subprocess.Popen:
        done, box = threading.Event(), {}
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name="lexprep-spawner", daemon=True)
                self._thread.start()
            self._requests.append((args, kwargs, box, done))
            self._wake.notify()
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["proc"]

    def _serve(self) -> None:
        while True:
            with self._lock:
                while not self._requests:
                    self._wake.wait()
                args, kwargs, box, done = self._requests.pop(0)
            try:
                box["proc"] = subprocess.Popen(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            done.set()


_spawner = _Spawner()


class _Worker:
    """One worker process and its end of the pipe."""

    def __init__(self, config: dict, env: dict[str, str] | None):
        parent_end, child_end = socket.socketpair()
        paths = [p for p in sys.path if p]
        try:
            self.proc = _spawner.popen(
                [sys.executable, "-c", _BOOTSTRAP, str(child_end.fileno()), json.dumps(paths)],
                pass_fds=(child_end.fileno(),), start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})},
            )
        finally:
            child_end.close()
        self.pid = self.proc.pid
        self.conn = Connection(parent_end.detach())
        self.dead = False
        self.peak_rss = 0
        self.conn.send({**config, "parent": os.getpid()})

    def wait_ready(self) -> None:
        """Wait for the initializer. Raises what it raised, or ConfigurationError when the worker never starts."""
        try:
            if not self.conn.poll(START_TIMEOUT_S):
                raise ConfigurationError(f"a worker process did not start within {START_TIMEOUT_S:.0f} s")
            _, init_error = self.conn.recv()
        except (EOFError, OSError) as exc:
            self.reap()
            raise ConfigurationError(f"a worker process could not start (exit {self.proc.returncode})") from exc
        except BaseException:
            self.kill()
            raise
        if init_error is not None:
            self.kill()
            raise _unpack_exc(init_error)

    def run(self, fn_ref: str, args: tuple, timeout_s: float, what: str, memory_bytes: int | None) -> Any:
        """``fn(*args)`` in the worker, watched. Raises LimitExceededError / CorruptFileError (the worker is
        then dead) or the task's own exception (the worker stays)."""
        started = time.monotonic()
        deadline = started + timeout_s
        self.peak_rss = 0  # the largest resident size seen (polls), until the worker's own figure comes
        try:
            self.conn.send((fn_ref, args))
            while True:
                wait = min(POLL_S, deadline - time.monotonic())
                if wait <= 0:
                    self.kill()
                    raise LimitExceededError(f"exceeded {format_seconds(timeout_s)} {what}")
                if self.conn.poll(wait):
                    reply = self.conn.recv()
                    break
                rss = rss_bytes(self.pid)
                if rss is not None:
                    self.peak_rss = max(self.peak_rss, rss)
                if memory_bytes and rss is not None and rss > memory_bytes:
                    self.kill()
                    raise LimitExceededError(f"exceeded {format_bytes(memory_bytes)} of memory {what}")
        except (EOFError, OSError) as exc:
            if self.reap() == EXIT_OVER_MEMORY:  # the worker's own watch
                raise LimitExceededError(f"exceeded {format_bytes(memory_bytes or 0)} of memory {what}") from None
            raise self._crashed(what) from exc
        status, payload, peak, leaving = reply
        self.peak_rss = peak
        if leaving:
            self.reap()  # it exits after this reply: it must not be handed another task
            self.peak_rss = peak  # this task's, not the worker's whole life
        if status == "ok":
            return payload
        if status == "memory":
            self.kill()
            raise LimitExceededError(f"exceeded {format_bytes(memory_bytes or 0)} of memory {what}")
        raise _unpack_exc(payload)

    def _crashed(self, what: str) -> CorruptFileError:
        code = self.reap()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            if -code == signal.SIGKILL:
                return CorruptFileError(f"the worker was killed ({name}, out of memory?) while {what}")
            return CorruptFileError(f"the parser crashed ({name}) while {what}: the file is probably damaged")
        return CorruptFileError(f"the worker ended (exit {code}) while {what}")

    def kill(self) -> None:
        """SIGKILL the worker's process group and reap it (idempotent)."""
        if not self.dead:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.reap()

    def reap(self) -> int | None:
        """Wait for the dead worker: its exit code (negative: the signal)."""
        if not self.dead:
            self.dead = True
            try:
                self.conn.close()
            except OSError:
                pass
            try:
                os.killpg(self.pid, signal.SIGKILL)  # whatever it left behind (a converter)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                # not the kernel's ru_maxrss: a child keeps the high-water mark of the process it was
                # forked from across exec (Linux), so a big parent would make every killed worker look big
                _, status, _usage = os.wait4(self.pid, 0)
                self.proc.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.proc.poll()
        return self.proc.returncode


_pools: weakref.WeakSet[GuardedPool] = weakref.WeakSet()


class GuardedPool:
    """``size`` reusable worker processes; :meth:`call` runs one task in one of them, watched.

    Args:
        name: for messages ("extraction", "ocr").
        size: worker processes at most (started on first use).
        memory_bytes: resident-size cap of a worker (None: no cap).
        address_space: also set ``RLIMIT_AS`` to ``memory_bytes`` in the worker (pure parsers only).
        initializer: ``"module:function"`` run once in each worker with ``initargs``.
        env: extra environment variables of the workers.

    Thread-safe: callers in several threads share the workers (a caller waits for a free one; the
    wait does not count against its time budget).
    """

    def __init__(self, name: str, size: int, memory_bytes: int | None = None, address_space: bool = False,
                 initializer: str | None = None, initargs: tuple = (), env: dict[str, str] | None = None):
        self.name, self.size = name, max(1, int(size))
        self.memory_bytes = int(memory_bytes) if memory_bytes else None
        self._config = {"address_space": self.memory_bytes if address_space else None,
                        "memory_bytes": self.memory_bytes,
                        "initializer": initializer, "initargs": initargs}
        self._env = env
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._starting = 0
        self._closed = False
        self._cond = threading.Condition()
        _pools.add(self)

    def _checkout(self) -> _Worker:
        with self._cond:
            while True:
                check_stopping()
                if self._closed:
                    raise RuntimeError(f"the {self.name} pool is closed")
                if self._idle:
                    return self._idle.pop()
                if len(self._live) + self._starting < self.size:
                    self._starting += 1
                    break
                self._cond.wait()
        worker = None
        try:
            worker = _Worker(self._config, self._env)
            with self._cond:
                self._live.add(worker)
            worker.wait_ready()
            return worker
        except BaseException:
            if worker is not None:
                self._retire(worker)
            raise
        finally:
            with self._cond:
                self._starting -= 1
                self._cond.notify()

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._cond:
            self._live.discard(worker)
            self._cond.notify()

    def _checkin(self, worker: _Worker) -> None:
        rss = rss_bytes(worker.pid)
        if worker.dead or rss is None or (self.memory_bytes and rss > self.memory_bytes // 2):
            self._retire(worker)
            return
        with self._cond:
            if self._closed or worker not in self._live:
                retire = True
            else:
                retire = False
                self._idle.append(worker)
                self._cond.notify()
        if retire:
            self._retire(worker)

    def call(self, fn: str | Callable, args: tuple = (), *, timeout_s: float, what: str,
             stats: dict | None = None) -> Any:
        """``fn(*args)`` in a worker; ``fn`` a module-level function or ``"module:qualname"``.

        Args:
            timeout_s: the task's time budget (seconds), counted from when a worker takes it.
            what: the activity for messages ("extracting" -> "exceeded 120 s extracting").
            stats: filled with ``wall_s`` (seconds), ``peak_rss`` (bytes: the worker's peak resident
                size during this task as the worker measured it (VmHWM), or the largest the parent saw when it had
                to be killed) and ``pid``.

        Raises:
            LimitExceededError: over the time budget or the memory cap (the worker was killed).
            CorruptFileError: the worker died by itself (a crash in a C parser).
            ConfigurationError: a worker could not start.
            whatever ``fn`` raised, with its class and message.
        """
        check_stopping()
        worker = self._checkout()
        started = time.monotonic()
        try:
            return worker.run(_ref(fn), args, timeout_s, what, self.memory_bytes)
        except (LimitExceededError, CorruptFileError):
            check_stopping()  # its worker was ended by stop(), not by its limits
            raise
        finally:
            if stats is not None:
                stats.update(wall_s=time.monotonic() - started, peak_rss=worker.peak_rss, pid=worker.pid)
            self._checkin(worker)

    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        with self._cond:
            return [w.pid for w in self._live if not w.dead]

    def close(self) -> None:
        """End every worker (busy ones too: their callers get an error). The pool may not be used again."""
        with self._cond:
            self._closed = True
            workers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.kill()


_stopping = threading.Event()


def stopping() -> bool:
    """Whether :func:`stop` was called: the run is ending (Ctrl-C, SIGTERM, exit)."""
    return _stopping.is_set()


def check_stopping() -> None:
    """Raise RunInterrupted when the run is ending (for threads still at work)."""
    if _stopping.is_set():
        raise RunInterrupted("the run is being stopped")


def kill_all() -> None:
    """End the workers of every pool in this process. Idempotent."""
    for pool in list(_pools):
        pool.close()


def stop() -> None:
    """The run is ending (Ctrl-C, SIGTERM, exit): note it (:func:`stopping`), then end every worker;
    a task whose worker is ended raises RunInterrupted, not a document's failure."""
    _stopping.set()
    kill_all()


atexit.register(stop)


def watch(fn: Callable[[], Any], pids: Callable[[], list[int]], *, timeout_s: float, memory_bytes: int | None,
          what: str) -> Any:
    """``fn()`` (run in a helper thread) while watching the worker processes it uses (``pids()``, e.g. a
    ProcessPoolExecutor's): past ``timeout_s`` seconds, or one of them above ``memory_bytes`` resident,
    they are killed (their pool sees them die) and LimitExceededError is raised here.

    Returns what ``fn`` returns; raises what it raises.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"lexprep-watch-{what}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while True:
        thread.join(POLL_S)
        if not thread.is_alive():
            break
        message = None
        if time.monotonic() > deadline:
            message = f"exceeded {format_seconds(timeout_s)} {what}"
        elif memory_bytes:
            for pid in pids():
                rss = rss_bytes(pid)
                if rss is not None and rss > memory_bytes:
                    message = f"exceeded {format_bytes(memory_bytes)} of memory {what}"
                    break
        if message:
            kill_processes(pids())
            thread.join(30)  # let the pool notice its workers are gone before the next caller
            raise LimitExceededError(message)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def kill_processes(pids: list[int]) -> None:
    """SIGKILL the processes ``pids`` (workers of a pool this module does not own), ignoring the gone."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


__all__ = ["GuardedPool", "check_stopping", "format_bytes", "format_seconds", "kill_all", "kill_processes", "resolve",
           "rss_bytes", "stop", "stopping", "watch"]
