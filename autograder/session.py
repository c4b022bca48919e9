"""Running cases: in the sandboxed worker (a submission) or in-process (the reference).

`WorkerSession` is the harness's end of the trust boundary. It copies the submission's
package and `worker.py` into a fresh folder, starts the worker in the sandbox, sends it
cases over a pipe, and reads back only JSON and `.npz` arrays loaded with
`allow_pickle=False`. Cases are pipelined: a few are in flight at once (`send`), so that
the worker runs one while the harness judges the one before (`receive`, in order). A
case that hangs past its limit is ended by killing the worker's whole process tree from
outside, which drops the cases in flight behind it; they are sent again to a fresh worker.
"""

from __future__ import annotations

import errno
import io
import json
import os
import select
import selectors
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from autograder import worker as wire
from autograder.cases import Case, step_to_json
from autograder.sandbox import Limits, Sandbox
from autograder.scratch import remove_tree

WORKER_FILE = Path(wire.__file__)
MAX_LINE = 4 * 1024 * 1024
MAX_RESULT_BYTES = 64 * 1024 * 1024  # a result file, and its arrays unpacked
MAX_RESULT_ARRAYS = 10_000  # members of a result .npz, checked before it is parsed
MAX_RESULT_DIRECTORY = 2 * 1024 * 1024  # bytes of its table of contents
MAX_REPLY_ITEMS = 200_000  # values (separators and brackets) in one reply line


def bounded_npz(data: bytes) -> bytes:
    """`data` unchanged when its zip end record declares at most MAX_RESULT_ARRAYS members
    in at most MAX_RESULT_DIRECTORY bytes; ValueError before anything parses it whole."""
    end = zipfile._EndRecData(io.BytesIO(data))  # noqa: SLF001 - the stdlib's end-record reader
    if end is None:
        raise ValueError("the result file is not an .npz archive")
    count, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]  # noqa: SLF001
    if count > MAX_RESULT_ARRAYS or size > MAX_RESULT_DIRECTORY:
        raise ValueError(f"the result file lists {count:,} arrays in {size:,} bytes (at most "
                         f"{MAX_RESULT_ARRAYS:,} arrays in {MAX_RESULT_DIRECTORY:,} bytes)")
    return data


def bounded_reply(line: bytes) -> bytes:
    """`line` unchanged when it holds at most MAX_REPLY_ITEMS values, counted by their
    separators and brackets before `json.loads` builds them; ValueError otherwise."""
    items = sum(line.count(c) for c in (b",", b":", b"[", b"{"))
    if items > MAX_REPLY_ITEMS:
        raise ValueError(f"a reply of {items:,} values (at most {MAX_REPLY_ITEMS:,})")
    return line
WORKER_FOLDER = "nntrain-worker-"  # + the harness's pid: a worker's temporary folder
WINDOW = 16  # cases in flight at once: the worker runs one while the harness judges another
PIPE_BUDGET = 32 * 1024  # request bytes in flight: under a pipe's 64 KiB, so writes never block


@dataclass
class Outcome:
    """What running one case produced.

    status: "ok", "error" (an exception in the submission), "not-implemented", "timeout",
    "crashed" (the worker died), "protocol" (the worker answered nonsense).
    """

    status: str
    message: str = ""
    values: dict = field(default_factory=dict)
    modified: list[str] = field(default_factory=list)
    step: int | None = None
    at: str = ""  # what the worker said it was doing last ("importing nntrain.layers")


def encode_request(case: Case, token: str, inline: int = 0) -> tuple[dict, dict]:
    """The wire request of `case` and its arrays (those over `inline` bytes)."""
    arrays: dict = {}
    request = {
        "case": token,
        "inputs": wire.encode(dict(case.inputs), arrays, inline=inline),
        "steps": [
            {k: wire.encode(v, arrays, inline=inline) if k in ("args", "kwargs") else v
             for k, v in step_to_json(step).items()}
            for step in case.steps
        ],
        "returns": case.returns,
    }
    return request, arrays


def _roundtrip(values: dict) -> dict:
    """Values as they would arrive from a worker (same types, copies)."""
    arrays: dict = {}
    encoded = wire.encode(values, arrays)
    return wire.decode(encoded, {k: v.copy() for k, v in arrays.items()})


class ReferenceSession:
    """Runs cases in this process against the package `nntrain` on sys.path (trusted)."""

    def __init__(self, package_dir: Path):
        self.package_dir = Path(package_dir)
        parent = str(self.package_dir.parent)
        if parent not in sys.path:
            sys.path.insert(0, parent)
        self.runner = wire.Runner(str(self.package_dir))

    def run(self, case: Case) -> Outcome:
        request, arrays = encode_request(case, "ref")
        reply, values = self.runner.execute(request, arrays)
        return Outcome(reply["status"], reply["message"], _roundtrip(values),
                       reply["modified"], reply["step"])

    def close(self):
        pass


class WorkerSession:
    """A sandboxed worker holding a copy of one submission's package.

    Inputs:
    - package_dir: the submission's `nntrain/` folder.
    - limits: sandbox limits for the worker process.
    - isolation: passed to `Sandbox` ("auto" picks the strongest available).
    - window: the most cases in flight at once (1: one case at a time).
    """

    def __init__(self, package_dir: Path, limits: Limits, isolation: str = "auto",
                 startup_seconds: float = 60.0, window: int = WINDOW):
        self.package_dir = Path(package_dir)
        self.limits = limits
        self.isolation = isolation
        self.startup_seconds = startup_seconds
        self.window = max(1, window)
        self.proc = None
        self.sandbox = None
        self.layers: list[str] = []
        self.counter = 0
        self.starts = 0
        self.pending: deque = deque()  # (token, seconds, request bytes, written) in order
        self.pending_bytes = 0
        self.log: list[str] = []

    # -- lifecycle
    def _prepare(self) -> Path:
        rw = Path(tempfile.mkdtemp(prefix=f"{WORKER_FOLDER}{os.getpid()}-"))
        shutil.copytree(self.package_dir, rw / "submission" / self.package_dir.name,
                        symlinks=True)
        (rw / "io").mkdir()
        shutil.copy(WORKER_FILE, rw / "worker.py")
        return rw

    def start(self):
        self.rw = self._prepare()
        self.sandbox = Sandbox(self.limits, rw_dir=self.rw, isolation=self.isolation,
                               dev_binds=gpu_devices())
        self.layers = list(self.sandbox.layers)
        self.uid = getattr(self.sandbox, "uid", None) if os.geteuid() == 0 else None
        if self.uid is not None:
            for path in [self.rw, *self.rw.rglob("*")]:
                os.lchown(path, self.uid, self.uid)
        # Every later file operation goes through this descriptor, opened before any
        # untrusted code runs: links the worker plants in io/ are never followed.
        self.io_fd = os.open(self.rw / "io", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        req_r, self.req_w = os.pipe()
        self.resp_r, resp_w = os.pipe()
        os.set_blocking(self.req_w, False)  # a worker that stops reading never blocks us
        argv = self.sandbox.python_argv("worker.py", "submission", "io", str(req_r),
                                        str(resp_w), self.package_dir.name)
        try:
            self.proc = self.sandbox.spawn(argv, pass_fds=(req_r, resp_w))
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.starts += 1
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.resp_r, selectors.EVENT_READ)
        line = self._read_line(time.monotonic() + self.startup_seconds)
        if not isinstance(line, dict) or not line.get("ready"):
            why = self._death_note(line)
            self.stop()
            raise WorkerFailed(why)

    def stop(self):
        """Kill the worker and everything it started; remove its folder. Cases in flight
        are dropped."""
        self.pending.clear()
        self.pending_bytes = 0
        if self.proc is not None:
            self.proc.kill()
            try:
                self.log.append(self.proc.output())
            except Exception:  # noqa: BLE001 - the log is best effort
                pass
            self.proc = None
        for fd in ("req_w", "resp_r", "io_fd"):
            if getattr(self, fd, None) is not None:
                try:
                    os.close(getattr(self, fd))
                except OSError:
                    pass
                setattr(self, fd, None)
        if getattr(self, "selector", None) is not None:
            self.selector.close()
            self.selector = None
        if self.sandbox is not None:
            close = getattr(self.sandbox, "close", None)
            if close:
                close()
            self.sandbox = None
        if getattr(self, "rw", None) is not None:
            remove_tree(self.rw)  # however deep or odd the worker left it
            self.rw = None

    close = stop

    # -- cases, pipelined
    @property
    def in_flight(self) -> int:
        """Cases sent to the worker whose answers have not been received yet."""
        return len(self.pending)

    def room(self) -> bool:
        """Whether another case may be sent before the oldest one's answer is received."""
        return len(self.pending) < self.window and self.pending_bytes < PIPE_BUDGET // 2

    def send(self, case: Case, seconds: float) -> bool:
        """Queue `case` in the worker (started first if none runs): its inputs into io/, its
        request onto the pipe. False, with nothing sent, when the request would not fit in
        the pipe beside those in flight (receive first). `seconds` limits the case from
        the moment its answer is awaited."""
        if self.proc is None:
            # No submission code runs before the worker says it is ready, so a start
            # that fails is the grader's problem (WorkerFailed), never the student's.
            self.start()
        request, arrays = encode_request(case, f"c{self.counter + 1}", wire.INLINE_BYTES)
        line = (json.dumps(request) + "\n").encode()
        if self.pending and self.pending_bytes + len(line) > PIPE_BUDGET:
            return False
        self.counter += 1
        token = request["case"]
        # Why the case could not be handed over ("" when it was): the worker's own doing,
        # reported when its answer is awaited.
        trouble = ""
        if arrays:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            trouble = self._write_input(f"{token}.in.npz", buffer.getvalue())
        if not trouble:
            trouble = self._write_request(line, time.monotonic() + seconds)
        self.pending.append((token, seconds, len(line), trouble))
        self.pending_bytes += len(line)
        return True

    def _write_request(self, line: bytes, deadline: float) -> str:
        """Put `line` on the request pipe by `deadline`; "" or why it could not."""
        view = memoryview(line)
        while view:
            try:
                view = view[os.write(self.req_w, view):]
                continue
            except BlockingIOError:
                pass
            except OSError as exc:
                if exc.errno == errno.EPIPE:
                    return ("the process running your code closed its end of the grader's "
                            "request channel (did your code close or replace a file "
                            "descriptor it did not open?)")
                return f"the grader's request channel failed ({exc.strerror})"
            left = deadline - time.monotonic()
            poll = select.poll()  # not select(): a descriptor may be numbered over 1024
            poll.register(self.req_w, select.POLLOUT)
            if left <= 0 or not poll.poll(left * 1000):
                return ("the process running your code stopped reading the grader's "
                        "requests (did your code read from, close or replace a file "
                        "descriptor it did not open?)")
        return ""

    def receive(self) -> Outcome:
        """The outcome of the oldest case in flight. A timeout, crash or unreadable answer
        stops the worker, and with it every later case in flight (`in_flight` drops to 0:
        send them again, to a fresh worker)."""
        token, seconds, size, trouble = self.pending.popleft()
        self.pending_bytes -= size
        if trouble:
            return self._fail("protocol", trouble)
        deadline = time.monotonic() + seconds
        at = ""
        while True:
            where = f" while {at}" if at else ""
            # Checked on every line too: a flood of lines never outlasts the case's limit.
            line = "timeout" if time.monotonic() >= deadline else self._read_line(deadline)
            if line == "timeout":
                return self._fail("timeout", f"no answer within {seconds:g} s{where}")
            if not isinstance(line, dict):
                return self._fail("crashed", self._death_note(line) + where)
            if line.get("case") != token:
                continue
            if "at" in line:
                at = str(line["at"])[:200]
                continue
            return replace(self._reply(line, token), at=at)

    def run(self, case: Case, seconds: float) -> Outcome:
        """Run one case alone: send it, then receive its outcome."""
        while not self.send(case, seconds):
            self.receive()
        while len(self.pending) > 1:
            self.receive()
        return self.receive()

    def _write_input(self, name: str, data: bytes) -> str:
        """Create `name` in io/ afresh (never through a planted link) with `data`; "" or,
        when the worker's folder stands in the way, why."""
        try:
            try:
                os.unlink(name, dir_fd=self.io_fd)
            except FileNotFoundError:
                pass
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o644, dir_fd=self.io_fd)
        except OSError as exc:
            return (f"your code changed the grader's exchange folder: {name} could not be "
                    f"created there ({exc.strerror})")
        try:
            if self.uid is not None:
                os.fchown(fd, self.uid, self.uid)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except OSError as exc:
            return (f"the case's inputs could not be written into the worker's folder "
                    f"({exc.strerror}: did your code fill its disk space?)")
        finally:
            os.close(fd)
        return ""

    def _read_result(self, name: str) -> dict:
        """The arrays of io/`name`: a plain file, not a link or FIFO, of bounded size,
        holding only uncompressed numeric arrays (no pickles)."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.io_fd)
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ValueError("the result file is not a regular file")
            if info.st_nlink != 1 or (self.uid is not None and info.st_uid != self.uid):
                raise ValueError("the result file is a link to a file the worker did not "
                                 "write")
            if info.st_size > MAX_RESULT_BYTES:
                raise ValueError("the result file is too large")
            data = handle.read(MAX_RESULT_BYTES + 1)
        if not data.startswith(b"PK"):
            raise ValueError("the result file is not an .npz archive")
        with np.load(io.BytesIO(bounded_npz(data)), allow_pickle=False) as npz:
            members = npz.zip.infolist()
            if sum(m.file_size for m in members) > MAX_RESULT_BYTES or any(
                    m.compress_type != zipfile.ZIP_STORED for m in members):
                raise ValueError("the result file is compressed or too large")
            arrays = {k: npz[k] for k in npz.files}
        for array in arrays.values():
            if array.dtype.kind not in "biuf":
                raise ValueError(f"an array of dtype {array.dtype} is not a numeric result")
        return arrays

    def _reply(self, line: dict, token: str) -> Outcome:
        try:
            # Opened only when a value names an array: what the worker left there
            # otherwise is never looked at.
            arrays = wire.LazyMapping(lambda: self._read_result(f"{token}.out.npz"))
            values = wire.decode(line.get("values", {"$dict": {}}), arrays)
            if not isinstance(values, dict):
                raise ValueError("values are not a dict")
            status = str(line.get("status"))
            if status not in ("ok", "error", "not-implemented"):
                raise ValueError(f"unknown status {status!r}")
            modified = [str(m) for m in line.get("modified", [])][:50]
            step = line.get("step")
            step = step if isinstance(step, int) else None
            message = str(line.get("message", ""))[:4000]
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - malformed worker output
            self._remove(token)
            return self._fail("protocol", f"the worker's answer could not be read ({exc})")
        self._remove(token)
        return Outcome(status, message, values, modified, step)

    def _remove(self, token: str):
        for suffix in ("in", "out"):
            try:
                os.unlink(f"{token}.{suffix}.npz", dir_fd=self.io_fd)
            except OSError:
                pass

    def _fail(self, status: str, message: str) -> Outcome:
        self.stop()
        return Outcome(status, message)

    def _read_line(self, deadline: float):
        """Next JSON line from the worker; "timeout", "eof" or "garbage" otherwise."""
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(timeout=left):
                return "timeout"
            try:
                chunk = os.read(self.resp_r, 65536)
            except OSError:
                return "eof"
            if not chunk:
                return "eof"
            self.buffer += chunk
            if len(self.buffer) > MAX_LINE:
                return "garbage"
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            data = json.loads(bounded_reply(line))
        except (ValueError, RecursionError):
            return "garbage"
        return data if isinstance(data, dict) else "garbage"

    def _death_note(self, line) -> str:
        if line == "timeout":
            return "the worker did not start in time (importing the submission hung?)"
        code = alive = None
        if self.proc is not None:
            code = self.proc.popen.poll()
            if code is None:
                time.sleep(0.05)
                code = self.proc.popen.poll()
            alive = code is None
            self.proc.kill()
            code = code if code is not None else self.proc.popen.returncode
        tail = ""
        try:
            tail = self.proc.output()[-800:] if self.proc is not None else ""
        except Exception:  # noqa: BLE001
            pass
        if line == "garbage":
            what = "answered with something that is not a result"
        elif alive:
            what = ("closed or replaced its end of the grader's answer channel (a file "
                    "descriptor your code did not open) and was ended")
        elif self.proc is not None and self.proc.memory_limit_hit:
            what = (f"was ended when your code's processes together reached the memory limit "
                    f"of {self.limits.memory_mb} MB")
        else:
            what = f"ended abruptly with exit code {code} (a crash, os._exit(), or a limit hit)"
        return f"the process running your code {what}" + (
            f"; its last output:\n{tail}" if tail.strip() else "")


def gpu_devices() -> list[str]:
    """NVIDIA device nodes to expose to the worker, so training tasks can use CUDA."""
    dev = Path("/dev")
    return sorted(str(p) for p in dev.glob("nvidia*") if not p.is_dir())


class WorkerFailed(RuntimeError):
    """The worker could not be started: the sandbox or the machine failed, not the
    submission (which is imported only after the worker is ready)."""
