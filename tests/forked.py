"""`python -m MODULE ARGV...` in a process forked from one that has imported TensorFlow, Keras and
the zoo once (conftest.run_cli): each CLI run is still a process of its own, with its own exit
status, output, files and state, without the seconds every new interpreter spends importing
TensorFlow. `multiprocessing`'s forkserver imports `PRELOAD` (and nothing runs on TensorFlow
there, so no thread of it exists to be lost in the fork)."""

from __future__ import annotations

import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile

PRELOAD = ["forked", "tensorflow", "keras", "zoo.train", "zoo.models", "exporters.export", "exporters.validate"]
_context = None


def _main(module, argv, cwd, env, out, err):
    """The forked child: `python -m module argv` with its streams in the files `out` and `err`."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        os.dup2(os.open(path, os.O_WRONLY | os.O_TRUNC), fd)
    sys.argv = [module, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # what an interpreter prints of an uncaught exception, and its status
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(module, argv, env, cwd, timeout) -> subprocess.CompletedProcess:
    """`subprocess.run([python, -m, module, *argv], capture_output=True, text=True, ...)`, forked."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(PRELOAD)
    with tempfile.TemporaryDirectory(prefix="forked-cli-") as tmp:
        out, err = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
        for path in (out, err):
            open(path, "w").close()
        process = _context.Process(target=_main, args=(module, list(argv), str(cwd), dict(env), out, err))
        process.start()
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired([module, *argv], timeout)
        with open(out) as o, open(err) as e:
            return subprocess.CompletedProcess([sys.executable, "-m", module, *argv], process.exitcode, o.read(),
                                               e.read())
