import re
import subprocess
import sys


def run_job(tmp_path, body, launcher_mib=0):
    """Run a tiny job script that logs to a file the way workflow scripts do; return its log text. The job is
    started by exec from a launcher that first touched ``launcher_mib`` MiB (as Snakemake forks its big process)."""
    log = tmp_path / "job.log"
    code = f"from midi_genres.core.joblog import log_to_file\nlog_to_file({str(log)!r})\n{body}"
    launcher = (f"import os, sys\nheld = bytearray({launcher_mib} * 2**20)\nheld[::4096] = b'x' * len(held[::4096])\n"
                f"os.execv(sys.executable, [sys.executable, '-c', {code!r}])")
    subprocess.run([sys.executable, "-c", launcher], capture_output=True)
    return log.read_text()


def logged_peak(text):
    found = re.search(r"peak memory: ([\d.]+) MiB \(largest child process: ([\d.]+) MiB\)", text.splitlines()[-1])
    assert found, text
    return float(found.group(1))


def test_the_log_ends_with_the_jobs_exact_peak_memory(tmp_path):
    text = run_job(tmp_path, "import numpy as np\nblock = np.ones(300 * 2**20 // 8)\ndel block")
    assert 300 < logged_peak(text) < 1000  # the freed 300 MiB block still counts


def test_the_peak_is_the_jobs_own_not_that_of_the_process_that_started_it(tmp_path):
    assert logged_peak(run_job(tmp_path, "pass", launcher_mib=600)) < 300


def test_an_uncaught_error_is_logged_with_its_traceback_and_the_peak_still_follows(tmp_path):
    text = run_job(tmp_path, "raise ValueError('config key train.steps must be positive')")
    assert "job failed" in text and "ValueError: config key train.steps must be positive" in text
    assert "peak memory:" in text.splitlines()[-1]
