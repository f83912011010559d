import re
import subprocess
import sys


def run_job(tmp_path, body):
    """Run a tiny job script that logs to a file the way workflow scripts do; return its log text."""
    log = tmp_path / "job.log"
    code = f"from midi_genres.core.joblog import log_to_file\nlog_to_file({str(log)!r})\n{body}"
    subprocess.run([sys.executable, "-c", code], capture_output=True)
    return log.read_text()


def test_the_log_ends_with_the_jobs_exact_peak_memory(tmp_path):
    text = run_job(tmp_path, "import numpy as np\nblock = np.ones(300 * 2**20 // 8)\ndel block")
    peak = re.search(r"peak memory: ([\d.]+) MiB \(largest child process: ([\d.]+) MiB\)", text.splitlines()[-1])
    assert peak and 300 < float(peak.group(1)) < 1000  # the freed 300 MiB block still counts


def test_an_uncaught_error_is_logged_with_its_traceback_and_the_peak_still_follows(tmp_path):
    text = run_job(tmp_path, "raise ValueError('config key train.steps must be positive')")
    assert "job failed" in text and "ValueError: config key train.steps must be positive" in text
    assert "peak memory:" in text.splitlines()[-1]
