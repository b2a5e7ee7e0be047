"""Executors: the same bits in this process, in local processes and on a two-worker Dask LocalCluster.

One LocalCluster serves the module (its start is the slow part); the killed-worker test
runs last and leaves the cluster restarted by its nanny.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import threading
import time

import pytest

from loyalty_sim.comparison import compare, sweep
from loyalty_sim.errors import ConfigError
from loyalty_sim.executor import DaskExecutor, InProcess, LocalProcesses, TaskError, as_executor, dask_client
from loyalty_sim.files import dumps_json
from loyalty_sim.scenario import scenario_from_mapping
from loyalty_sim.schemes import scheme_from_dict

TINY = {"name": "tiny", "preset": "coffee_shop", "customers": 300, "weeks": 20, "launch_week": 5, "seed": 4,
        "schemes": [{"type": "discount", "name": "d10", "depth": 0.1},
                    {"type": "stamp_card", "name": "stamp8", "stamps_required": 8, "reward_value": 4.0,
                     "reward_cost": 1.1}]}


@pytest.fixture(scope="module")
def dask_ex():
    pytest.importorskip("distributed", reason="the [dask] extra is part of dev: CI has it")
    client = dask_client(2)
    ex = DaskExecutor(client, own=True)
    yield ex
    ex.close()


@pytest.fixture(scope="module")
def tiny_here():
    """The tiny scenario's 3 replications in this process: the reference of every executor."""
    return compare(scenario_from_mapping(TINY), replications=3)


def _json(comp) -> str:
    return dumps_json(comp.to_dict())


def _square(task: int) -> int:
    return task * task


def _fails_on_two(task: int, shared: dict) -> int:
    if task == 2:
        raise ZeroDivisionError("no")
    return task + shared["add"]


def test_map_keeps_task_order_and_ships_the_shared_input(dask_ex):
    tasks = list(range(7))[::-1]
    want = [t * t for t in tasks]
    for ex in (InProcess(), LocalProcesses(2), dask_ex):
        assert ex.map(_square, tasks, desc="squares") == want
        assert ex.map(_fails_on_two, [0, 1], shared={"add": 10}) == [10, 11]
        assert ex.map(_square, []) == []


def test_a_failing_task_is_named_by_its_key(dask_ex):
    keys = [f"scenario 'tiny', replication {i}" for i in range(4)]
    for ex in (InProcess(), LocalProcesses(2), dask_ex):
        with pytest.raises(TaskError, match=r"scenario 'tiny', replication 2 failed: ZeroDivisionError: no"):
            ex.map(_fails_on_two, range(4), keys=keys, shared={"add": 1})


def test_a_failing_replication_keeps_its_error_class_and_names_scenario_and_replication(monkeypatch):
    sc = scenario_from_mapping(TINY)
    monkeypatch.setenv("LOYALTY_SIM_MEMORY_LIMIT", "1000")  # bytes: every run is too large
    for ex in (InProcess(), LocalProcesses(2)):
        with pytest.raises(ConfigError, match=r"^scenario 'tiny', replication [01]: .*memory") as err:
            compare(sc, replications=2, executor=ex)
        assert err.value.message.startswith("scenario 'tiny', replication ")


def test_compare_gives_the_same_bits_on_every_executor(dask_ex, tiny_here):
    sc = scenario_from_mapping(TINY)
    here = tiny_here
    want = _json(here)
    assert json.loads(want)["replications"] == 3
    assert _json(compare(sc, replications=3, executor=LocalProcesses(2))) == want
    on_dask = compare(sc, replications=3, executor=dask_ex)
    assert _json(on_dask) == want
    # the first run comes back whole (figures draw it), the others without per-customer tables
    assert len(on_dask.runs[0].baseline.customers) == len(here.runs[0].baseline.customers) > 0
    assert len(on_dask.runs[1].baseline.customers) == 0
    assert on_dask.runs[2].results["d10"].weekly.equals(here.runs[2].results["d10"].weekly)


def test_uncertainty_sweep_gives_the_same_bits_on_every_executor(dask_ex):
    """Assumption draws (issue 16) on every executor: the same runs to the bit, the same decision JSON."""
    from loyalty_sim.uncertainty.analysis import analyse
    from loyalty_sim.uncertainty.draws import psa

    sc = scenario_from_mapping(TINY)
    here = psa(sc, 6, replications=2)
    want = dumps_json(analyse(here).to_dict())
    for ex in (LocalProcesses(2), dask_ex):
        there = psa(sc, 6, replications=2, workers=ex)
        assert there.runs.equals(here.runs)
        assert dumps_json(analyse(there).to_dict()) == want


def test_discount_sweep_gives_the_same_bits_on_every_executor(dask_ex):
    base = scenario_from_mapping({**TINY, "schemes": []}, require_schemes=False)

    def make(depth: float):
        return scheme_from_dict({"type": "discount", "name": "d", "depth": depth})

    frames = [sweep(base, make, [0.05, 0.2], name="depth", replications=2, executor=ex)
              for ex in (None, LocalProcesses(2), dask_ex)]
    first = frames[0].to_json(orient="split", double_precision=15)
    assert frames[0]["incremental_profit"].notna().all()
    for f in frames[1:]:
        assert f.to_json(orient="split", double_precision=15) == first
        assert _json(f.attrs["comparison"]) == _json(frames[0].attrs["comparison"])


def test_trial_design_gives_the_same_bits_on_every_executor(dask_ex):
    from loyalty_sim.trial.design import design_trial

    def design(ex):
        d = design_trial("coffee_shop", {"type": "discount", "name": "d10", "depth": 0.1}, customers=400,
                         rerandomisations=40, candidate_weeks=[4], pre_weeks=4, pilot_weeks=4, seed=2, executor=ex)
        text = dumps_json(d.to_dict())
        return re.sub(r'"(\w*)seconds": [0-9.e+-]+', r'"\1seconds": 0', text)  # timings are not results

    want = design(None)
    assert design(LocalProcesses(2)) == want
    assert design(dask_ex) == want


@pytest.mark.slow
def test_report_batch_gives_the_same_values_on_dask(dask_ex, tmp_path):
    from loyalty_sim import report

    sets = [{"customers": 300, "margin": 100.0}, {"customers": 300, "margin": 50.0}]
    index, on_dask = report.run_batch("04-profit-impact", sets, out_dir=tmp_path / "dask", executor=dask_ex)
    _, here = report.run_batch("04-profit-impact", sets[:1], out_dir=tmp_path / "here")
    assert all(isinstance(r, report.ReportOutput) for r in on_dask + here)
    assert on_dask[0].values == here[0].values and on_dask[0].values != on_dask[1].values
    assert [r.html.name for r in on_dask] == sorted(p.name for p in (tmp_path / "dask").glob("*.html") if p != index)
    text = index.read_text()
    assert all(r.html.name in text for r in on_dask)


def test_as_executor_accepts_a_client_a_count_or_nothing(dask_ex):
    assert isinstance(as_executor(None), InProcess)
    assert as_executor(3).workers == 3
    assert isinstance(as_executor(dask_ex.client), DaskExecutor)
    assert dask_ex.workers == 2
    with pytest.raises(ConfigError, match="dask.distributed.Client"):
        as_executor("tcp://somewhere")


@pytest.mark.slow
def test_compare_command_joins_a_scheduler_or_uses_local_processes_with_the_same_output(dask_ex, tmp_path, capsys,
                                                                                        monkeypatch):
    from loyalty_sim.cli import main

    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(TINY))
    base = ["compare", str(path), "--replications", "2", "--json"]
    outputs = []
    for extra in ([], ["--workers", "2"], ["--scheduler", dask_ex.client.scheduler.address]):
        assert main(base + extra) == 0
        outputs.append(capsys.readouterr().out)
    monkeypatch.setenv("LOYALTY_SIM_SCHEDULER", dask_ex.client.scheduler.address)  # joined without the option
    assert main(base) == 0
    outputs.append(capsys.readouterr().out)
    assert json.loads(outputs[0])["replications"] == 2
    assert outputs[1:] == [outputs[0]] * 3
    assert main(base + ["--workers", "2"]) == 2  # local processes and a cluster at once
    assert "--workers 2 is for local processes" in capsys.readouterr().err
    monkeypatch.delenv("LOYALTY_SIM_SCHEDULER")
    for bad in (["--workers", "0"], ["--dask", "1000000"]):
        assert main(base + bad) == 2
        err = capsys.readouterr().err
        assert f"{bad[0]} {bad[1]}: expected 1 to" in err and "Traceback" not in err


def test_without_dask_the_error_names_the_extra(monkeypatch, tmp_path, capsys):
    from loyalty_sim.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ConfigError, match=r'pip install "loyalty-sim\[dask\]"'):
        dask_client(2)
    path = tmp_path / "tiny.yaml"
    path.write_text(json.dumps(TINY))
    assert main(["compare", str(path), "--dask", "2", "--replications", "2"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "loyalty-sim[dask]"' in err and "Traceback" not in err
    assert main(["compare", str(path), "--dask", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--dask 2 starts a cluster and --scheduler tcp://127.0.0.1:1 joins one" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_worker_has_its_tasks_rerun_with_the_same_result(dask_ex, tiny_here):
    """Kill (SIGKILL) the worker process running a replication: the scheduler reruns it elsewhere."""
    sc = scenario_from_mapping(TINY)
    want = _json(tiny_here)
    client = dask_ex.client
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        got = _json(compare(sc, replications=3, executor=dask_ex))
    finally:
        killer.join()
    assert killed, "no worker was busy to be killed"
    assert killed[0] not in client.run(os.getpid).values()  # that process is gone (its nanny started another)
    assert got == want
