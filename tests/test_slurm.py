"""The workflow on a real SLURM cluster: `snakemake --profile profiles/slurm` against a single-node SLURM
(slurmctld + slurmd + munged) that the test starts from a temporary directory and stops again.

Skipped only where SLURM is not installed or cannot be started here (`.ci/run` installs it when run as root:
apt-get install slurmctld slurmd slurm-client munge).
"""

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tomllib
import yaml
from workflow_helpers import REPO, SNAKEMAKE, tiny_config

GENRES = ["atonal", "rap"]  # synthetic: no music21 parsing, so the jobs are short
SLURM_PROFILE = REPO / "profiles" / "slurm"
TIMEOUT_S = 900
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
DAEMONS = ("munged", "slurmctld", "slurmd")
# The SLURM executor plugin is not in the environment `make setup` makes (a local run should not pay for a cluster
# plugin's start-up, which asks the SLURM controller for its configuration): this test installs it beside the venv,
# in a folder of its own on the PYTHONPATH of the Snakemake it starts, and skips where it cannot.
PLUGIN_DIR = Path(sys.prefix) / "cluster-plugins"
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scontrol", "scancel")


def slurm_config():
    cfg = tiny_config()
    cfg["genres"] = GENRES
    return cfg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else f"({path} missing)"


class SingleNodeSlurm:
    """munged, slurmctld and slurmd for this host, with every file (key, socket, state, spool, logs) in `root`."""

    def __init__(self, root: Path):
        self.root = root
        self.bin = {name: shutil.which(name, path=SEARCH_PATH) for name in DAEMONS + CLIENTS}
        self.procs: dict[str, subprocess.Popen] = {}  # started by this fixture, stopped by it, by PID
        self.node = socket.gethostname().split(".")[0]
        self.conf = root / "slurm.conf"
        self.log = root / "log"
        # The job environment: SLURM_CONF for sbatch/squeue, the venv first on PATH. Inherited SLURM_* settings
        # (e.g. when the suite itself runs inside a SLURM job) would leak into sbatch, so they go.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SRUN_"))}
        shims = root / "bin"
        env["PATH"] = os.pathsep.join([str(shims), str(Path(sys.executable).parent), env.get("PATH", "")])
        env["SLURM_CONF"] = str(self.conf)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
        self.env = env

    def missing(self) -> list[str]:
        return [name for name, path in self.bin.items() if path is None]

    def run(self, *args: str, check: bool = True) -> str:
        proc = subprocess.run([self.bin.get(args[0]) or args[0], *args[1:]], capture_output=True, text=True,
                              env=self.env, timeout=60)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {proc.stdout}{proc.stderr}")
        return proc.stdout

    def daemon(self, name: str, *args: str) -> subprocess.Popen:
        out = open(self.log / f"{name}.out", "w")
        proc = subprocess.Popen([self.bin[name], *args], stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                start_new_session=True)
        out.close()
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        root = self.root
        for d in ("munge", "state", "spool", "log", "bin"):
            (root / d).mkdir(mode=0o755)
        # munged, on its own key and socket.
        key = root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        sock = root / "munge" / "munge.sock"
        self.daemon("munged", "--foreground", "--force", f"--socket={sock}", f"--key-file={key}",
                    f"--pid-file={root / 'munge' / 'munged.pid'}", f"--seed-file={root / 'munge' / 'munged.seed'}",
                    f"--log-file={self.log / 'munged.log'}")
        self.wait_for(sock.exists, "munged socket", self.log / "munged.out")
        # The node as slurmd sees the hardware (CPUs, sockets, cores, threads, memory).
        hardware = self.run("slurmd", "-C").splitlines()[0].split()
        node_line = " ".join([f"NodeName={self.node}", "NodeAddr=127.0.0.1",
                              *(f for f in hardware if not f.startswith(("NodeName=", "UpTime="))), "State=UNKNOWN"])
        self.cpus = int(next(f for f in hardware if f.startswith("CPUs=")).split("=")[1])
        self.conf.write_text(f"""\
ClusterName=midigenres
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
StateSaveLocation={root / 'state'}
SlurmdSpoolDir={root / 'spool'}
SlurmctldPidFile={root / 'slurmctld.pid'}
SlurmdPidFile={root / 'slurmd.pid'}
SlurmctldLogFile={self.log / 'slurmctld.log'}
SlurmdLogFile={self.log / 'slurmd.log'}
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdTimeout=300
KillWait=5
# Finished jobs stay visible to squeue for 10 minutes: without slurmdbd (sacct) the executor plugin reads job
# states from squeue, and needs MinJobAge well above 3x its first status-check delay.
MinJobAge=600
{node_line}
PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
""")
        # The executor plugin's job step drops SLURM_CONF from the environment of the `srun` it starts inside each
        # job (it keeps only a few SLURM_* variables), so srun would look for /etc/slurm/slurm.conf. A real cluster
        # has its config there (or runs configless); this throwaway one gets an `srun` shim that points at its own.
        shim = root / "bin" / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {self.bin["srun"]} "$@"\n')
        shim.chmod(0o755)
        self.daemon("slurmctld", "-D", "-f", str(self.conf))
        self.wait_for(lambda: "UP" in self.run("scontrol", "ping", check=False), "slurmctld",
                      self.log / "slurmctld.log")
        self.daemon("slurmd", "-D", "-f", str(self.conf), "-N", self.node)
        self.wait_for(lambda: self.run("sinfo", "-h", "-N", "-o", "%T", check=False).strip() == "idle",
                      "the node to be idle", self.log / "slurmd.log")

    def wait_for(self, ready, what: str, log: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [name for name, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0]} exited ({self.procs[dead[0]].returncode}) while waiting for "
                                   f"{what}:\n{tail(log)}")
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out waiting for {what}:\n{tail(log)}")

    def jobs(self) -> dict[str, tuple[str, str, int]]:
        """{job id: (state, comment, CPUs)} of every job slurmctld still remembers (MinJobAge)."""
        out = self.run("squeue", "--states=all", "-h", "-o", "%i|%T|%C|%k")
        return {i: (state, comment, int(cpus))
                for i, state, cpus, comment in (line.split("|", 3) for line in out.splitlines())}

    def stop(self) -> None:
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:  # cancel what is left, and let the job steps end before slurmd does
                active = [i for i, (state, *_) in self.jobs().items() if state in ("PENDING", "RUNNING")]
                if active:
                    self.run("scancel", *active, check=False)
                    deadline = time.monotonic() + 30
                    while time.monotonic() < deadline and any(
                            s in ("RUNNING", "COMPLETING") for s, *_ in self.jobs().values()):
                        time.sleep(0.5)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        for proc in reversed(self.procs.values()):  # slurmd, slurmctld, munged
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def cluster_requirements() -> list[str]:
    """The `cluster` extra's requirements that the test environment lacks (the executor plugins), plus pandas,
    which only the SLURM plugin needs."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    return [r for r in extras["cluster"] if r.startswith("snakemake-executor-plugin")] + [
        "snakemake-executor-plugin-slurm-jobstep", "pandas"]


def install_cluster_plugins() -> str | None:
    """Install the executor plugins into PLUGIN_DIR once (without their dependencies, which the venv has, so the
    venv's numpy stays the one imported); None, or why it could not."""
    if (PLUGIN_DIR / ".installed").exists():
        return None
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                           str(PLUGIN_DIR), *cluster_requirements()], capture_output=True, text=True)
    if proc.returncode != 0:
        return f"could not install the SLURM executor plugin: {proc.stderr.strip()[-500:]}"
    (PLUGIN_DIR / ".installed").touch()
    return None


def skip_reason(cluster: SingleNodeSlurm) -> str | None:
    missing = cluster.missing()
    if missing:
        return (f"SLURM is not installed (no {', '.join(missing)}); install it with "
                "`apt-get install slurmctld slurmd slurm-client munge` (.ci/run does so when run as root)")
    if os.geteuid() != 0:
        return "a single-node SLURM needs root: slurmd starts each job as its user"
    return install_cluster_plugins()


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    cluster = SingleNodeSlurm(tmp_path_factory.mktemp("slurm"))
    reason = skip_reason(cluster)
    if reason:
        pytest.skip(reason)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
        cluster.stop()
        pytest.skip(f"SLURM is installed but could not be started here: {err}")
    yield cluster
    cluster.stop()


def snakemake(workdir: Path, env: dict, *args: str, config=None, timeout: float = TIMEOUT_S):
    """Run the real workflow in `workdir` (its own process group, killed with everything in it on timeout)."""
    if config is not None:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    proc = subprocess.Popen([*SNAKEMAKE, "-d", str(workdir), *args], cwd=workdir, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)  # snakemake cancels its SLURM jobs on SIGTERM
        out, _ = proc.communicate(timeout=60)
        raise AssertionError(f"snakemake {args} ran over {timeout}s:\n{out[-6000:]}") from None
    return proc.returncode, out


def train_cpus(cluster: SingleNodeSlurm) -> int:
    return min(4, cluster.cpus)  # the profile asks 4 CPUs for train; this node may have fewer


def slurm_args(cluster: SingleNodeSlurm) -> list[str]:
    """`--profile profiles/slurm` plus what this one-node test cluster needs instead of the placeholders.

    Training keeps one torch thread (as in the local run it is compared with): multi-threaded bf16 training on CPU
    is not bitwise reproducible between runs when other processes compete for the cores.
    """
    return ["--profile", str(SLURM_PROFILE),
            "--default-resources", "slurm_partition=debug", "runtime=10", "mem_mb=500",  # no account
            "--set-resources", f"train:cpus_per_task={train_cpus(cluster)}", "--set-threads", "train=1",
            "--slurm-status-command", "squeue",  # no slurmdbd, so no sacct
            "--slurm-init-seconds-before-status-checks", "1"]


SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")
CORE_RULES = {"synthesize", "tokenize", "train", "sample", "render_pianoroll", "render_comparison"}


def scheduled_jobs(out: str) -> dict[str, tuple[str, str]]:
    """{Snakemake job id: (rule, "rule" or "localrule")} from the headers Snakemake prints as it starts each job."""
    jobs, header = {}, None
    for line in out.splitlines():
        if m := re.fullmatch(r"(localrule|rule) (\w+):", line):
            header = (m[2], m[1])
        elif (m := re.fullmatch(r"\s+jobid: (\d+)", line)) and header:
            jobs[m[1]] = header
            header = None
    return jobs


@pytest.fixture(scope="module")
def slurm_run(slurm, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("on_slurm")
    started = time.monotonic()
    code, out = snakemake(workdir, slurm.env, *slurm_args(slurm), config=slurm_config())
    assert code == 0, f"{out[-8000:]}\n--- slurmctld.log\n{tail(slurm.log / 'slurmctld.log')}"
    print(f"\nthe workflow on SLURM: {time.monotonic() - started:.0f}s")
    return workdir, out


@pytest.mark.slow
def test_every_job_runs_as_a_slurm_job_and_gives_the_local_results(slurm, slurm_run, tmp_path):
    workdir, out = slurm_run
    # Every job Snakemake ran (but the target rule `all`, which has no action) went through sbatch ...
    scheduled = {job: rule for job, (rule, kind) in scheduled_jobs(out).items() if kind == "rule" and rule != "all"}
    submitted = {job: (slurm_id, Path(log)) for job, slurm_id, log in SUBMITTED.findall(out)}
    assert submitted.keys() == scheduled.keys(), out[-4000:]
    assert CORE_RULES <= set(scheduled.values())
    assert {rule for rule, _ in scheduled_jobs(out).values()} >= CORE_RULES | {"all"}
    # ... and slurmctld ran each one to completion under the rule's name (the plugin puts it in the job comment).
    on_cluster = slurm.jobs()
    for job, (slurm_id, log) in submitted.items():
        state, comment, cpus = on_cluster[slurm_id]
        assert state == "COMPLETED" and comment.startswith(f"rule_{scheduled[job]}"), (scheduled[job], state)
        if scheduled[job] == "train":  # set-resources reached sbatch
            assert cpus == train_cpus(slurm), (comment, cpus)
        assert log.is_relative_to(workdir / ".snakemake" / "slurm_logs") and log.name == f"{slurm_id}.log"
        assert log.exists()  # kept: slurm-keep-successful-logs in the profile
    assert len({slurm_id for slurm_id, _ in submitted.values()}) == len(submitted)
    train_log = next(log for job, (_, log) in submitted.items() if scheduled[job] == "train")
    assert "rule train:" in train_log.read_text()  # the SLURM job's own output: Snakemake running the rule
    assert (workdir / "results/comparison.png").exists() and (workdir / "results/summary.tsv").exists()

    # The same config run locally gives the same tokens, weights and samples.
    local = tmp_path / "local"
    local.mkdir()
    code, local_out = snakemake(local, slurm.env, *(f"results/samples/{genre}.mid" for genre in GENRES),
                                "--cores", "2", "--set-threads", "train=1", config=slurm_config())
    assert code == 0, local_out[-6000:]
    assert "SLURM" not in local_out
    import torch

    for genre in GENRES:
        for rel in (f"data/tokens/{genre}.npy", f"data/tokens/{genre}.val.npy", f"results/samples/{genre}.mid"):
            assert (workdir / rel).read_bytes() == (local / rel).read_bytes(), rel
        a = torch.load(workdir / f"results/checkpoints/{genre}.pt", weights_only=True)["model_state"]
        b = torch.load(local / f"results/checkpoints/{genre}.pt", weights_only=True)["model_state"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), genre
        losses = [[(r["train_loss"], r["val_loss"]) for r in csv.DictReader(open(d / f"results/train/{genre}.tsv"),
                                                                             delimiter="\t")] for d in (workdir, local)]
        assert losses[0] == losses[1], genre


@pytest.mark.slow
def test_a_job_failing_on_the_cluster_fails_the_run_and_shows_its_slurm_log(slurm, slurm_run, tmp_path):
    workdir, _ = slurm_run
    shutil.copytree(workdir / "data", tmp_path / "data")  # the tokens are there: only train runs (and fails)
    cfg = slurm_config()
    cfg["overrides"] = {"rap": {"train": {"device": "cuda:99"}}}  # no node has a 100th GPU
    code, out = snakemake(tmp_path, slurm.env, "results/checkpoints/rap.pt", *slurm_args(slurm),
                          "--rerun-triggers", "mtime", config=cfg)
    assert code != 0
    assert [rule for rule, _ in scheduled_jobs(out).values()] == ["train"], out[-6000:]
    ((_, jobid, log),) = SUBMITTED.findall(out)
    # Snakemake reports the SLURM failure, names the job's SLURM log and prints it (show-failed-logs) ...
    assert f"SLURM-job '{jobid}' failed, SLURM status is: 'FAILED'" in out, out[-6000:]
    assert f"{log} (check log file(s) for error details)" in out and f"Logfile {log}:" in out
    assert slurm.jobs()[jobid][:2] == ("FAILED", "rule_train_wildcards_rap__")  # genre rap, fold "" and rep "" (1st)
    # ... which holds the job's error: the traceback from torch, as the rule's own log does.
    slurm_log = Path(log).read_text()
    assert "Error in rule train" in slurm_log and "Traceback (most recent call last)" in slurm_log
    assert "cuda" in slurm_log.lower() and "cuda" in (tmp_path / "logs/train/rap.log").read_text().lower()
    assert not (tmp_path / "results/checkpoints/rap.pt").exists()
