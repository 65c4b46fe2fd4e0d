"""Targets that end the process themselves, or are stopped: the trace reports honestly and writes its bundle."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import TRACE_TESTS

ENDINGS = "trace_toys.endings"


def gradlint(*args: str, **options) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "gradlint", *args],
        cwd=TRACE_TESTS,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )


def finished(*args: str) -> tuple[int, str, str]:
    process = gradlint(*args)
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def bundle(folder) -> dict:
    (made,) = folder.iterdir()
    return {name: (made / name).read_text() for name in ("summary.md", "trace.json", "gradients.json")}


def test_sys_exit_zero_is_a_normal_end(tmp_path):
    code, out, err = finished("trace", f"{ENDINGS}:exits_cleanly", "--param", "weight")
    assert code == 0, err
    assert "weight     ok" in out


def test_sys_exit_with_a_status_is_a_failure_of_the_target():
    code, _, err = finished("trace", f"{ENDINGS}:exits_with_status")
    assert code == 2
    assert "raised SystemExit: 3 at trace_toys/endings.py:" in err


def test_os_exit_is_stopped_and_reported_not_taken_for_a_clean_run(tmp_path, line):
    code, out, err = finished("trace", f"{ENDINGS}:ends_the_process", "--report-dir", str(tmp_path))
    assert code == 1, err  # offset is cut: a report, and its exit code, not a silent 0
    assert "offset     missing" in out
    note = f"the target called os._exit(0) at trace_toys/endings.py:{line('endings', 'hard exit')}"
    assert note in out
    files = bundle(tmp_path)
    assert note in files["summary.md"]
    assert [p["outcome"] for p in json.loads(files["gradients.json"])["parameters"]] == ["ok", "missing"]


def test_os_exit_with_a_status_is_a_failure():
    code, _, err = finished("trace", f"{ENDINGS}:ends_the_process_failing")
    assert code == 2
    assert "raised os._exit(4)" in err


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_hung_target_stopped_by_a_signal_still_gets_its_report_and_bundle(tmp_path, sent, code):
    process = gradlint("trace", f"{ENDINGS}:hangs", "--report-dir", str(tmp_path))
    assert process.stdout.readline() == "ready\n"
    process.send_signal(sent)
    out, err = process.communicate(timeout=120)
    assert process.returncode == code, err
    name = signal.Signals(sent).name
    assert f"was interrupted ({name}) before the target finished" in out
    files = bundle(tmp_path)
    trace = json.loads(files["trace.json"])
    assert trace["failure"]["kind"] == "interrupted" and trace["failure"]["detail"] == name
    assert [(p["name"], p["outcome"]) for p in trace["parameters"]] == [("weight", "ok"), ("offset", "missing")]
    assert "has not finished" not in files["summary.md"]


def test_an_unwritable_report_folder_is_found_before_the_target_runs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, out, err = finished("trace", f"{ENDINGS}:leaves_a_mark", "--report-dir", str(blocker / "reports"))
    assert code == 2
    assert err.startswith(f"gradlint: error: cannot write the report bundle in {blocker / 'reports'}")
    assert "Traceback" not in err and out == ""
    assert not (TRACE_TESTS / "target-ran").exists()


def test_the_bundle_folder_says_when_the_process_ended_before_the_report(tmp_path):
    """A process killed outright (here: gradlint itself, with SIGKILL) leaves the folder made before the run."""
    process = gradlint("trace", f"{ENDINGS}:hangs", "--report-dir", str(tmp_path))
    assert process.stdout.readline() == "ready\n"
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    (made,) = tmp_path.iterdir()
    assert "The trace has not finished" in (made / "summary.md").read_text()
