"""Test-only fault injection, imported by a run's config (`custom_imports`): SIGKILL this process halfway through
the Nth file it writes through mmengine's local file backend (every checkpoint save goes through it), the file left
truncated as a real kill would leave it. N comes from the environment (FAULT_KILL_AT_PUT)."""

import os
import signal

from mmengine.fileio.backends import LocalBackend

KILL_AT = int(os.environ.get('FAULT_KILL_AT_PUT', '0'))
_puts = 0
_put = LocalBackend.put


def _put_then_die(self, obj: bytes, filepath) -> None:
    global _puts
    _puts += 1
    if _puts != KILL_AT:
        return _put(self, obj, filepath)
    with open(filepath, 'wb') as f:
        f.write(obj[: len(obj) // 2])
        f.flush()
        os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)


LocalBackend.put = _put_then_die
