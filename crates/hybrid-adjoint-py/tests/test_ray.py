"""Ray on a local cluster this test starts on the loopback address (2 CPUs): a sweep of trainer
runs as tasks, resumable by calling it again; data-parallel training whose weights equal bit
for bit those of a single process with the same batch order and reduction order. Skipped,
with a message, where Ray is not installed (CI does not install it)."""

import json

import numpy as np
import pytest

import hybrid_adjoint as ha

ray = pytest.importorskip("ray", reason="Ray is not installed: the Ray sweep and data-parallel "
                          "mode are not tested")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def small(seed, epochs):
    c = ha.default_config("yin_yang")
    c["limits"] = {"train": 300, "validation": 100, "test": 100}
    c["train"]["epochs"] = epochs
    c["train"]["seed"] = seed
    return c


def test_a_sweep_runs_as_ray_tasks_and_resumes(cluster, tmp_path):
    from hybrid_adjoint.ray import sweep

    first = sweep({f"seed{s}": small(s, 1) for s in (0, 1)}, tmp_path)
    assert all(r.finished for r in first.values())
    # Calling it again with more epochs continues each run from its checkpoint...
    again = sweep({f"seed{s}": small(s, 2) for s in (0, 1)}, tmp_path)
    for s in (0, 1):
        metrics = json.loads((tmp_path / f"seed{s}" / "metrics.json").read_text())
        assert [m["epoch"] for m in metrics] == [1, 2]
        assert again[f"seed{s}"].finished
    # ...and ends where a single uninterrupted run ends.
    direct = ha.train(small(1, 2), tmp_path / "direct")
    assert direct.summary["test"] == again["seed1"].summary["test"]


def test_data_parallel_training_is_bit_identical_to_one_process(cluster):
    from hybrid_adjoint.ray import DataParallel, blocked_gradient

    data = ha.load_data(small(0, 1))["train"]
    rng = np.random.default_rng(0)
    net = ha.FeedForwardNet([rng.normal(1.5, 0.78, (40, 5)), rng.normal(0.93, 0.1, (3, 40))],
                            t_end=60.0)
    w0 = net.get_weights()
    batches = [np.random.default_rng(1).permutation(300)[k * 32:(k + 1) * 32] for k in range(6)]

    def run(grad_of):
        w = [x.copy() for x in w0]
        for idx in batches:
            g = grad_of(w, idx)
            for x, gx in zip(w, g):
                x -= 0.05 * gx
        return w

    def single(w, idx):
        net.set_weights(w)
        return blocked_gradient(net, [data["inputs"][i] for i in idx], data["labels"][idx],
                                block=4).gradient

    dp = DataParallel(net, data["inputs"], data["labels"], workers=2, block=4)
    try:
        parallel = run(lambda w, idx: dp.loss_and_gradient(w, idx).gradient)
        assert len(dp.last_timing["worker_compute"]) == 2
    finally:
        dp.shutdown()
    reference = run(single)
    for a, b in zip(parallel, reference):
        assert np.array_equal(a.view(np.uint64), b.view(np.uint64))
    assert any(not np.array_equal(a, b) for a, b in zip(reference, w0))
