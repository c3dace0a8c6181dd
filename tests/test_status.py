"""The Status page's tables: what is recorded, what is left to run, the benchmark, the audit."""


from s6lib.lab import experiments as ex
from s6lib.lab import status

from conftest import make_bench, planned, write


def test_plans_count_what_is_complete_and_where(tmp_path):
    write(tmp_path, planned("fast", 1), "gpu")
    write(tmp_path, planned("fast", 2), "cpu")
    table = status.plan_table(tmp_path).set_index("plan")
    assert list(table.index) == list(ex.PLANS)
    assert table.loc["training"].tolist() == [10, 1, 1, 8]
    assert table.loc["ablations", "complete on GPU"] == 1  # the fast recipe is in both plans


def test_the_work_queue_lists_each_missing_run_once_with_its_command(tmp_path):
    write(tmp_path, planned("fast", 1), "cpu")
    todo = status.todo_table(tmp_path)
    fast = todo[todo.experiment == "fast"]
    assert fast.values.tolist() == [["training", "fast", "2, 3, 4, 5", "python -m s6lib sweep --plan training"]]
    assert len(todo) == len({e.key for plan in ex.PLANS.values() for e in plan})
    assert status.todo_table(None)["experiment"].is_unique


def test_records_are_counted_once_by_device_and_commit(tmp_path):
    write(tmp_path, planned("fast", 1), "gpu")
    table = status.records_table(tmp_path)
    assert table["records"].tolist() == [1] and table["device"].tolist() == ["NVIDIA H100 80GB HBM3"]


def test_the_bench_table_has_each_configuration_and_the_sweeps(tmp_path):
    table = status.bench_table(make_bench()).set_index("configuration")
    assert table.loc["B, fast path", "vs pipeline A"] == 40.0
    assert table.loc["sweep, 1 job", "15-epoch runs per hour"] == 480.0
    assert table.loc["sweep, 1 job", "seconds per epoch"] == 0.5
    assert status.bench_records(tmp_path) == []
