"""The sandbox against hostile student code.

Each hostile script is written into the sandbox's rw_dir and run with `python -I`, in every
isolation mode this machine offers ("bwrap" and, as root, "user": the fallback for machines
without namespaces such as Gradescope's containers). A hang is judged by its status, never
by a clock.
"""

import errno
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import uuid
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import (
    PROCESS_HEADROOM,
    TRUNCATION_NOTE,
    Limits,
    Sandbox,
    SandboxError,
    available_isolations,
    classify,
    probe,
    probe_report,
    python_isolated,
    reachable,
    read_capped,
    uid_pids,
)

REPO = Path(__file__).resolve().parents[1]
ROOT = os.geteuid() == 0
SYSTEM_PYTHON = "/usr/bin/python3"
MODES = available_isolations()
# "user" mode cannot stage the venv's interpreter (it lives under 0700 /root here).
USER_PYTHON_OK = Path(SYSTEM_PYTHON).exists() and reachable(Path(SYSTEM_PYTHON), 65534)
PYTHON = {"bwrap": None, "user": SYSTEM_PYTHON}
FAST = {"cpu_seconds": 10, "memory_mb": 1024, "file_size_mb": 16, "processes": 16,
        "wall_seconds": 30.0}

needs_root = pytest.mark.skipif(not ROOT, reason="needs root (dedicated uids)")
needs_bwrap = pytest.mark.skipif("bwrap" not in MODES, reason="bubblewrap does not work here")
MODE_PARAMS = [
    pytest.param("bwrap", marks=needs_bwrap, id="bwrap"),
    pytest.param("user", id="user", marks=pytest.mark.skipif(
        "user" not in MODES or not USER_PYTHON_OK,
        reason="needs root, setpriv and a system python reachable by any uid")),
]


@pytest.fixture(scope="module")
def shared_root():
    """A root-owned, world-traversable scratch folder ("user" mode needs that above rw_dir)."""
    path = Path(tempfile.mkdtemp(prefix="sandbox-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=MODE_PARAMS)
def mode(request):
    return request.param


def _traversable_dir(parent: Path) -> Path:
    path = Path(tempfile.mkdtemp(dir=parent))
    path.chmod(0o711)
    return path


@pytest.fixture
def make_sandbox(mode, tmp_path, shared_root):
    """Factory of sandboxes in `mode`; afterwards checks that no process of theirs is left."""
    made = []

    def make(python=None, **limits):
        # bwrap: rw_dir under pytest's 0700 tmp folder, so binds must be staged.
        base = tmp_path if mode == "bwrap" else _traversable_dir(shared_root)
        rw = base / f"rw{len(made)}"
        rw.mkdir()
        python = python or PYTHON[mode]
        extra = {"python": python} if python else {}
        sandbox = Sandbox(Limits(**{**FAST, **limits}), rw_dir=rw, isolation=mode, **extra)
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        uid = sandbox.uid
        sandbox.close()
        if uid is not None:
            assert uid_pids(uid) == []


def run_script(sandbox, source, *args, **run_args):
    (sandbox.rw_dir / "hostile.py").write_text(textwrap.dedent(source))
    return sandbox.run(sandbox.python_argv("hostile.py", *map(str, args)), **run_args)


def last_line(result) -> str:
    return result.output.strip().splitlines()[-1]


# -- the machine ---------------------------------------------------------------------------


def test_probe_reports_every_layer_in_force():
    layers = probe()
    assert {"rlimits", "scrubbed-env", "new-session", "python-isolated"} <= set(layers)
    if ROOT:
        assert "unprivileged-user" in layers
    if "bwrap" in MODES:
        assert {"bwrap", "net-namespace", "pid-namespace", "mount-namespace"} <= set(layers)
    report = probe_report()
    assert all(layer in report for layer in layers)


# -- reading secrets ----------------------------------------------------------------------

READ_FILE = """
    import sys
    try:
        print("read:" + open(sys.argv[1]).read())
    except FileNotFoundError:
        print("absent")
    except PermissionError:
        print("denied")
"""


@pytest.fixture(scope="module")
def secrets(shared_root):
    folder = shared_root / "secrets"
    folder.mkdir(mode=0o755)
    for name, mode in (("root-only", 0o600), ("public", 0o644)):
        (folder / name).write_text("hunter2")
        (folder / name).chmod(mode)
    return folder


@pytest.mark.parametrize("name, expected", [
    pytest.param("root-only", {"bwrap": "absent", "user": "denied"}, id="root-0600-file"),
    # Without a mount namespace, world-readable files are readable: a documented weakness.
    pytest.param("public", {"bwrap": "absent", "user": "read:hunter2"}, id="world-readable-file"),
])
def test_secret_files_outside_the_binds(make_sandbox, mode, secrets, name, expected):
    result = run_script(make_sandbox(), READ_FILE, secrets / name)
    assert last_line(result) == expected[mode]


BWRAP_ONLY = pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=needs_bwrap)])


@BWRAP_ONLY
@pytest.mark.parametrize("path", ["/root/.bashrc", "/home", str(REPO / "pyproject.toml"),
                                  "/etc/shadow"],
                         ids=["root-home", "home", "repository", "etc-shadow"])
def test_bwrap_hides_host_paths(make_sandbox, path):
    assert last_line(run_script(make_sandbox(), READ_FILE, path)) == "absent"


# -- network ------------------------------------------------------------------------------

CONNECT = """
    import socket, sys
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
        print("connected")
    except OSError as exc:
        print("failed", type(exc).__name__)
"""


@pytest.mark.parametrize("target", ["loopback-listener", "8.8.8.8"])
def test_network_is_unreachable(make_sandbox, target):
    sandbox = make_sandbox()
    if "net-namespace" not in sandbox.layers:
        pytest.skip("no network namespace in this mode here (documented weakness)")
    with socket.create_server(("127.0.0.1", 0)) as listener:
        host, port = ("127.0.0.1", listener.getsockname()[1]) if target != "8.8.8.8" \
            else ("8.8.8.8", 53)
        result = run_script(sandbox, CONNECT, host, port)
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert last_line(result).startswith("failed")


# -- processes, memory, CPU -------------------------------------------------------------

FORK_UNTIL_REFUSED = """
    import os, time
    n = 0
    try:
        while True:
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
            n += 1
    except OSError as exc:
        print("refused after", n, type(exc).__name__)
"""

FORK_BOMB = """
    import os
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""


def test_fork_is_refused_at_the_process_limit(make_sandbox):
    sandbox = make_sandbox(processes=8)
    result = run_script(sandbox, FORK_UNTIL_REFUSED)
    words = last_line(result).split()
    assert words[0] == "refused" and words[-1] == "BlockingIOError"
    assert int(words[2]) <= 8 + PROCESS_HEADROOM
    assert result.status == "ok"


def test_spinning_fork_bomb_is_killed_entirely(make_sandbox):
    sandbox = make_sandbox(processes=8)
    result = run_script(sandbox, FORK_BOMB, timeout=1.5)
    assert result.status == "timeout"
    if sandbox.uid is not None:
        assert uid_pids(sandbox.uid) == []


def test_memory_bomb_fails_inside(make_sandbox):
    source = """
        try:
            block = bytearray(50 * 2**30)
            print("allocated")
        except MemoryError:
            print("MemoryError")
    """
    result = run_script(make_sandbox(memory_mb=512), source)
    assert (result.status, last_line(result)) == ("ok", "MemoryError")


SPIN_IGNORING_SIGNALS = """
    import signal
    for sig in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    print("spinning", flush=True)
    while True:
        pass
"""


@pytest.mark.parametrize("limits, status", [
    pytest.param({"cpu_seconds": 1, "wall_seconds": 60.0}, "cpu-limit", id="cpu-limit-first"),
    pytest.param({"cpu_seconds": 60, "wall_seconds": 1.0}, "timeout", id="wall-clock-first"),
])
def test_loop_ignoring_signals_is_ended(make_sandbox, limits, status):
    sandbox = make_sandbox(**limits)
    result = run_script(sandbox, SPIN_IGNORING_SIGNALS)
    assert result.status == status
    assert result.output.startswith("spinning")
    if sandbox.uid is not None:
        assert uid_pids(sandbox.uid) == []


DAEMON = """
    import os, time
    read, write = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(write, b"up")
            while True:
                time.sleep(1)
        os._exit(0)
    print("daemon", os.read(read, 2).decode(), flush=True)
"""


@needs_root
def test_setsid_double_fork_daemon_does_not_survive_kill(make_sandbox, mode):
    sandbox = make_sandbox()
    (sandbox.rw_dir / "hostile.py").write_text(textwrap.dedent(DAEMON))
    process = sandbox.spawn(sandbox.python_argv("hostile.py"))
    assert process.wait(30) == 0
    if mode == "user":
        assert uid_pids(sandbox.uid), "the daemon left the process group and still runs"
    process.kill()
    process.kill()
    assert uid_pids(sandbox.uid) == []
    assert process.status == "ok" and process.output().strip() == "daemon up"


# -- files and output ---------------------------------------------------------------------


def test_big_file_is_stopped_by_the_file_size_limit(make_sandbox):
    source = """
        chunk = b"x" * 2**20
        try:
            with open("big", "wb") as f:
                for _ in range(200):
                    f.write(chunk)
            print("wrote 200 MB")
        except OSError as exc:
            print("failed", exc.errno)
    """
    sandbox = make_sandbox(file_size_mb=8)
    result = run_script(sandbox, source)
    assert last_line(result) == f"failed {errno.EFBIG}"
    assert (sandbox.rw_dir / "big").stat().st_size <= 8 * 2**20


@pytest.mark.parametrize("file_size_mb, status", [
    pytest.param(64, "ok", id="flood-under-file-limit"),
    pytest.param(8, "error", id="flood-past-file-limit"),
])
def test_output_flood_is_truncated(make_sandbox, file_size_mb, status):
    source = """
        import sys
        sys.stdout.write("start\\n" + "x" * 50_000_000 + "\\nend\\n")
    """
    result = run_script(make_sandbox(file_size_mb=file_size_mb, output_bytes=200_000), source)
    assert result.status == status
    assert result.output_truncated and TRUNCATION_NOTE in result.output
    assert result.output.startswith("start")
    assert len(result.output) <= 200_000 + len(TRUNCATION_NOTE)


WRITE_FILE = """
    import sys
    try:
        open(sys.argv[1], "w").write("escaped")
        print("wrote")
    except OSError as exc:
        print("failed", type(exc).__name__)
"""


@pytest.mark.parametrize("where", ["host-tmp", "repository", "filesystem-root"])
def test_writes_outside_rw_dir_never_reach_the_host(make_sandbox, where):
    name = f"sandbox-escape-{uuid.uuid4().hex}"
    target = {"host-tmp": Path("/tmp"), "repository": REPO, "filesystem-root": Path("/")}[where]
    target = target / name
    try:
        result = run_script(make_sandbox(), WRITE_FILE, target)
        assert last_line(result).startswith(("wrote", "failed"))
        assert not target.exists()
    finally:
        target.unlink(missing_ok=True)


def test_setuid_root_fails(make_sandbox):
    source = """
        import errno, os
        print("uid", os.getuid())
        try:
            os.setuid(0)
            print("became root")
        except OSError as exc:  # EPERM; EINVAL in bwrap, where uid 0 is not even mapped
            print("failed", exc.errno in (errno.EPERM, errno.EINVAL))
    """
    result = run_script(make_sandbox(), source)
    assert last_line(result) == "failed True" and "uid 0" not in result.output


def test_environment_is_scrubbed(make_sandbox, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_SECRET_TOKEN", "hunter2")
    source = """
        import json, os
        print(json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}))
    """
    sandbox = make_sandbox()
    seen = json.loads(last_line(run_script(sandbox, source)))
    assert "AUTOGRADER_SECRET_TOKEN" not in seen["env"]
    assert "hunter2" not in json.dumps(seen)
    assert seen["env"]["HOME"] == seen["cwd"] == str(sandbox.rw_dir)
    assert seen["env"]["PATH"] == "/usr/bin:/bin"
    assert seen["env"]["OMP_NUM_THREADS"] == "1"


# -- benign work --------------------------------------------------------------------------


@BWRAP_ONLY
def test_numpy_script_works_in_its_rw_dir(make_sandbox):
    source = """
        import os, sys
        import numpy as np
        np.save("out.npy", np.arange(5) * 2)
        print(sys.flags.isolated, os.getcwd() == os.environ["HOME"])
    """
    sandbox = make_sandbox()
    result = run_script(sandbox, source)
    assert (result.status, last_line(result)) == ("ok", "1 True")
    assert "python-isolated" in result.layers
    saved = np.load(sandbox.rw_dir / "out.npy", allow_pickle=False)
    np.testing.assert_array_equal(saved, [0, 2, 4, 6, 8])


@BWRAP_ONLY
def test_torch_imports_with_the_default_memory_limit(make_sandbox):
    source = """
        import torch
        print(float(torch.ones(3).sum()))
    """
    result = run_script(make_sandbox(memory_mb=Limits().memory_mb), source)
    assert (result.status, last_line(result)) == ("ok", "3.0")


def test_passed_fds_reach_the_child(make_sandbox):
    read, write = os.pipe()
    source = "import os, sys; os.write(int(sys.argv[1]), b'hi')"
    try:
        result = run_script(make_sandbox(), source, write, pass_fds=(write,))
        os.close(write)
        assert (result.status, os.read(read, 10)) == ("ok", b"hi")
    finally:
        os.close(read)


@BWRAP_ONLY
def test_ro_binds_are_readable_not_writable(make_sandbox, tmp_path):
    shared = tmp_path / "data"
    shared.mkdir()
    (shared / "x.txt").write_text("given")
    sandbox = Sandbox(Limits(**FAST), rw_dir=make_sandbox().rw_dir, ro_binds=[shared])
    source = """
        import sys
        print(open(sys.argv[1] + "/x.txt").read())
        try:
            open(sys.argv[1] + "/y.txt", "w")
        except OSError as exc:
            print("failed", type(exc).__name__)
    """
    with sandbox:
        result = run_script(sandbox, source, shared)
    assert result.output.split() == ["given", "failed", "OSError"]
    assert not (shared / "y.txt").exists()


# -- uids ---------------------------------------------------------------------------------


@needs_root
def test_concurrent_sandboxes_get_distinct_uids_released_on_close(tmp_path):
    with Sandbox(Limits(), rw_dir=tmp_path) as first, Sandbox(Limits(), rw_dir=tmp_path) as second:
        assert first.uid != second.uid
        with pytest.raises(SandboxError):
            Sandbox(Limits(), rw_dir=tmp_path, uid=first.uid)
        taken = first.uid
    with Sandbox(Limits(), rw_dir=tmp_path, uid=taken) as again:
        assert again.uid == taken


@needs_root
def test_isolation_none_still_drops_root(shared_root):
    rw = _traversable_dir(shared_root)
    if not USER_PYTHON_OK:
        pytest.skip("no system python reachable by the sandbox uid")
    with Sandbox(Limits(), rw_dir=rw, isolation="none", python=SYSTEM_PYTHON) as sandbox:
        result = sandbox.run(sandbox.python_argv("-c", "import os; print(os.getuid())"))
        assert int(last_line(result)) == sandbox.uid != 0
        assert "unprivileged-user" in result.layers and "bwrap" not in result.layers


@needs_root
def test_user_mode_refuses_an_unreachable_interpreter(tmp_path):
    hidden = Path(os.path.realpath(sys.executable))
    if reachable(hidden, 65534):
        pytest.skip("the interpreter is reachable by any uid here")
    with pytest.raises(SandboxError, match="cannot reach"):
        Sandbox(Limits(), rw_dir=tmp_path, isolation="user")


def test_lock_dir_is_private():
    if not ROOT:
        pytest.skip("uid locks are only used as root")
    with tempfile.TemporaryDirectory() as rw, Sandbox(Limits(), rw_dir=Path(rw)):
        info = Path("/tmp/autograder-uids").lstat()
        assert stat.S_ISDIR(info.st_mode) and info.st_uid == 0 and not info.st_mode & 0o077


# -- pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize("returncode, sig, timed_out, killed, cpu, expected", [
    pytest.param(0, None, False, False, False, ("ok", None), id="clean-exit"),
    pytest.param(1, None, False, False, False, ("error", None), id="exception"),
    pytest.param(-9, signal.SIGKILL, True, False, True, ("timeout", "timeout"), id="our-timeout"),
    pytest.param(-9, signal.SIGKILL, False, True, False, ("killed", "killed"), id="our-kill"),
    pytest.param(-24, signal.SIGXCPU, False, False, True, ("cpu-limit", "cpu time limit"),
                 id="sigxcpu"),
    pytest.param(-9, signal.SIGKILL, False, False, True, ("cpu-limit", "cpu time limit"),
                 id="hard-cpu-limit"),
    pytest.param(-9, signal.SIGKILL, False, False, False, ("killed", "SIGKILL"),
                 id="sigkill-too-early-for-cpu"),
    pytest.param(-25, signal.SIGXFSZ, False, False, False, ("error", "file size limit"),
                 id="sigxfsz"),
    pytest.param(-11, signal.SIGSEGV, False, False, False, ("error", "SIGSEGV"), id="segfault"),
])
def test_classify(returncode, sig, timed_out, killed, cpu, expected):
    assert classify(returncode, sig, timed_out=timed_out, killed=killed,
                    cpu_spent_possible=cpu) == expected


@pytest.mark.parametrize("text, limit, expected, cut", [
    pytest.param("hello", 10, "hello", False, id="short"),
    pytest.param("a" * 10, 10, "a" * 10, False, id="exactly-the-limit"),
    pytest.param("a" * 6 + "b" * 6, 8, "a" * 6 + TRUNCATION_NOTE + "b" * 2, True,
                 id="head-and-tail"),
])
def test_read_capped(tmp_path, text, limit, expected, cut):
    path = tmp_path / "log"
    path.write_text(text)
    assert read_capped(path, limit) == (expected, cut)


@pytest.mark.parametrize("argv, isolated", [
    pytest.param(["python", "-I", "x.py"], True, id="dash-I"),
    pytest.param(["/usr/bin/python3", "-IB", "x.py"], True, id="grouped"),
    pytest.param(["python", "x.py", "-I"], False, id="script-argument"),
    pytest.param(["python", "-c", "pass", "-I"], False, id="after-c"),
    pytest.param(["sh", "-I"], False, id="not-python"),
])
def test_python_isolated(argv, isolated):
    assert python_isolated(argv) is isolated


@pytest.mark.parametrize("field", ["cpu_seconds", "memory_mb", "wall_seconds"])
def test_limits_must_be_positive(field):
    with pytest.raises(ValueError, match=field):
        Limits(**{field: 0})


# -- without Linux's extras (macOS): no prlimit, pidfd_open, waitid, sched_getaffinity, /proc
@pytest.fixture
def portable(monkeypatch):
    from autograder import sandbox as sandbox_module

    real_tool = sandbox_module._tool
    monkeypatch.setattr(sandbox_module, "_tool",
                        lambda name: None if name == "prlimit" else real_tool(name))
    for name in ("pidfd_open", "waitid", "sched_getaffinity"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setattr(sandbox_module, "PROC_SELF", "/nonexistent/self")


PRINT_LIMITS = """
    import resource
    for name in ("CPU", "AS", "FSIZE", "NOFILE", "CORE", "NPROC"):
        print(name, *resource.getrlimit(getattr(resource, "RLIMIT_" + name)))
"""


def test_without_prlimit_python_sets_the_limits(make_sandbox, portable):
    sandbox = make_sandbox(cpu_seconds=7, memory_mb=768, file_size_mb=3, open_files=99)
    result = run_script(sandbox, PRINT_LIMITS)
    assert result.status == "ok", result.output
    got = {line.split()[0]: tuple(map(int, line.split()[1:])) for line in
           result.output.splitlines()}
    assert got["CPU"] == (7, 8) and got["AS"] == (768 * 2**20,) * 2
    assert got["FSIZE"] == (3 * 2**20,) * 2 and got["NOFILE"] == (99, 99)
    assert got["CORE"] == (0, 0)
    assert got["NPROC"] == (16 + PROCESS_HEADROOM,) * 2  # a dedicated uid: counted alone


@pytest.mark.parametrize("limits, status", [
    pytest.param({"cpu_seconds": 1, "wall_seconds": 60.0}, "cpu-limit", id="cpu-limit-first"),
    pytest.param({"cpu_seconds": 60, "wall_seconds": 1.0}, "timeout", id="wall-clock-first"),
])
def test_without_linux_extras_a_loop_is_still_ended(make_sandbox, portable, limits, status):
    result = run_script(make_sandbox(**limits), SPIN_IGNORING_SIGNALS)
    assert result.status == status and result.output.startswith("spinning")


def test_without_linux_extras_the_exit_status_is_kept(make_sandbox, portable):
    result = run_script(make_sandbox(), "import sys\nprint('bye')\nsys.exit(3)\n")
    assert (result.returncode, result.status, last_line(result)) == (3, "error", "bye")


def test_without_proc_the_process_limit_is_left_to_the_system(tmp_path, monkeypatch):
    from autograder import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "PROC_SELF", "/nonexistent/self")
    box = Sandbox.__new__(Sandbox)
    box.limits, box.uid = Limits(), None
    assert "nproc" not in box._rlimits()
    box.uid = 61999
    assert box._rlimits()["nproc"] == (Limits().processes + PROCESS_HEADROOM,) * 2
    monkeypatch.setattr(sandbox_module, "_tool", lambda name: None)
    chain = box._rlimit_args()
    assert chain[:3] == [sandbox_module.this_python(), "-I", "-c"] and chain[-1] == "--"


# -- preflight: one line, not a traceback, when the sandbox cannot run Python -----------------


@pytest.fixture(scope="module")
def closed_python(tmp_path_factory):
    """A real interpreter binary inside a 0700 folder (as pyenv under /root is)."""
    folder = tmp_path_factory.mktemp("closed-home")
    folder.chmod(0o700)
    binary = folder / "python3"
    shutil.copy(os.path.realpath(SYSTEM_PYTHON), binary)
    return str(binary)


def _without_bwrap(monkeypatch):
    """This machine as if bubblewrap could not run (Docker's seccomp, Gradescope)."""
    from dataclasses import replace

    from autograder import sandbox as sb

    caps = replace(sb._capabilities(), bwrap=False)
    monkeypatch.setattr(sb, "_capabilities", lambda: caps)


def _numpy_missing_from_system_python() -> bool:
    return Path(SYSTEM_PYTHON).exists() and subprocess.run(
        [SYSTEM_PYTHON, "-I", "-c", "import numpy"], capture_output=True).returncode != 0


PREFLIGHT = [
    # (id, isolation, python: "closed" | "system" | None (this one), expected words or None)
    ("user-closed-interpreter", "user", "closed", ["cannot reach", "drwx------", "venv"]),
    ("none-as-root-closed-interpreter", "none", "closed", ["cannot reach", "bubblewrap"]),
    ("user-without-numpy", "user", "system", ["cannot import NumPy", "No module named"]),
    ("bwrap-stages-what-it-cannot-reach", "bwrap", "closed", None),
    ("unknown-mode", "chroot", None, ["isolation must be one of"]),
]


@needs_root
@pytest.mark.parametrize("isolation, python, expected", [p[1:] for p in PREFLIGHT],
                         ids=[p[0] for p in PREFLIGHT])
def test_preflight_names_the_cause_and_the_fix(closed_python, isolation, python, expected):
    from autograder.sandbox import preflight

    if isolation == "bwrap" and "bwrap" not in MODES:
        pytest.skip("bubblewrap does not work here")
    if python == "system" and not _numpy_missing_from_system_python():
        pytest.skip("the system python here imports NumPy")
    chosen = {"closed": closed_python, "system": SYSTEM_PYTHON}.get(python)
    problem = preflight(isolation, chosen)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and "\n" not in problem
        for words in expected:
            assert words in problem


@needs_root
@pytest.mark.parametrize("argv", [
    pytest.param(["grade", "{sub}", "-o", "{out}", "--assignment", "{tiny}"], id="grade"),
    pytest.param(["check", "--path", "{sub}", "--assignment", "{tiny}"], id="check"),
    pytest.param(["build", "{tiny}", "-o", "{out}"], id="build"),
])
def test_commands_stop_at_once_with_one_line(closed_python, monkeypatch, tmp_path, capsys,
                                             argv):
    from autograder import cli
    from autograder import sandbox as sb

    _without_bwrap(monkeypatch)
    monkeypatch.setattr(sb, "this_python", lambda: closed_python)
    tiny = REPO / "tests" / "fixtures" / "tiny"
    sub = tmp_path / "alice"
    shutil.copytree(tiny / "solutions", sub)
    names = {"sub": sub, "out": tmp_path / "out", "tiny": tiny}
    assert cli.main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"autograder {argv[0]}: 'user' isolation" in err and "cannot reach" in err
    assert not (tmp_path / "out").exists()
