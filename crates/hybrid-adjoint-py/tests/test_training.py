"""The trainer from Python: a short Yin-Yang run improves accuracy; a run stopped by its
callback (or by an exception in it) leaves a checkpoint, and resuming it gives bit for bit the
weights of an uninterrupted run; the NumPy API alone trains too."""

import json
import struct

import numpy as np
import pytest

import hybrid_adjoint as ha


def small_yin_yang(epochs):
    c = ha.default_config("yin_yang")
    c["limits"] = {"train": 1000, "validation": 300, "test": 300}
    c["train"]["epochs"] = epochs
    return c


def read_safetensors(path):
    """The F64 tensors of a safetensors file (8-byte header length, JSON header, data)."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F64"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=np.float64).reshape(info["shape"])
    return out


def test_a_short_yin_yang_run_improves_accuracy(tmp_path):
    # Zero epochs scores the initial weights (same seed, same initialisation).
    before = ha.train(small_yin_yang(0), tmp_path / "initial")
    seen = []
    after = ha.train(small_yin_yang(3), tmp_path / "run", callback=seen.append)
    assert before.finished and after.finished
    assert [m["epoch"] for m in seen] == [1, 2, 3]
    acc0, acc3 = before.summary["test"]["accuracy"], after.summary["test"]["accuracy"]
    assert acc3 >= acc0 + 0.2, (acc0, acc3)
    assert seen[-1]["validation_accuracy"] > seen[0]["validation_accuracy"]
    for f in ("weights.safetensors", "best.safetensors", "checkpoint.safetensors",
              "metrics.csv", "summary.json", "config.json"):
        assert (tmp_path / "run" / f).is_file(), f


def assert_same_run(a, b):
    wa = read_safetensors(a / "weights.safetensors")
    wb = read_safetensors(b / "weights.safetensors")
    assert wa.keys() == wb.keys() and len(wa) == 2
    for k in wa:
        assert np.array_equal(wa[k].view(np.uint64), wb[k].view(np.uint64)), k
    ma = json.loads((a / "metrics.json").read_text())
    mb = json.loads((b / "metrics.json").read_text())
    drop = lambda ms: [{k: v for k, v in m.items() if k != "seconds"} for m in ms]
    assert drop(ma) == drop(mb)


def test_a_run_stopped_by_its_callback_resumes_bit_for_bit(tmp_path):
    ha.train(small_yin_yang(3), tmp_path / "full")
    stopped = ha.train(small_yin_yang(3), tmp_path / "stopped",
                       callback=lambda m: False)
    assert not stopped.finished
    assert stopped.summary["epochs_done"] == 1
    assert (tmp_path / "stopped" / "checkpoint.safetensors").is_file()
    resumed = ha.train(None, tmp_path / "stopped", mode="resume")
    assert resumed.finished
    assert_same_run(tmp_path / "full", tmp_path / "stopped")


def test_an_exception_in_the_callback_propagates_after_the_checkpoint(tmp_path):
    def fail(m):
        raise RuntimeError(f"stop at epoch {m['epoch']}")

    with pytest.raises(RuntimeError, match="stop at epoch 1"):
        ha.train(small_yin_yang(2), tmp_path / "r", callback=fail)
    assert ha.read_run_config(tmp_path / "r")["train"]["epochs"] == 2
    # Resuming extends the run to 3 epochs; it matches an uninterrupted 3-epoch run.
    assert ha.train(None, tmp_path / "r", mode="resume", epochs=3).finished
    ha.train(small_yin_yang(3), tmp_path / "full")
    assert_same_run(tmp_path / "full", tmp_path / "r")


def test_a_directory_holding_a_run_is_not_reused_silently(tmp_path):
    ha.train(small_yin_yang(0), tmp_path / "r")
    with pytest.raises(ha.TrainingError, match="holds another run"):
        ha.train(small_yin_yang(0), tmp_path / "r")
    assert ha.train(small_yin_yang(0), tmp_path / "r", mode="force").finished
    with pytest.raises(ha.InvalidInputError, match="invalid training configuration"):
        ha.train({"data": "nothing"}, tmp_path / "other")


def test_the_numpy_api_trains_yin_yang(tmp_path):
    # A training loop written in Python: the library's loss and gradient, Adam in NumPy.
    data = ha.load_data(small_yin_yang(1))
    train, val = data["train"], data["validation"]
    assert data["n_inputs"] == 5 and data["n_classes"] == 3 and len(train["inputs"]) == 1000
    rng = np.random.default_rng(0)
    net = ha.FeedForwardNet([rng.normal(1.5, 0.78, (200, 5)), rng.normal(0.93, 0.1, (3, 200))],
                            t_end=60.0)

    def accuracy():
        _, pred = net.evaluate(val["inputs"], val["labels"])
        return float(np.mean(pred == val["labels"]))

    acc0 = accuracy()
    w = net.get_weights()
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    step = 0
    for epoch in range(3):
        order = rng.permutation(len(train["inputs"]))
        for start in range(0, len(order), 32):
            idx = order[start:start + 32]
            r = net.loss_and_gradient([train["inputs"][i] for i in idx], train["labels"][idx])
            step += 1
            for k, g in enumerate(r.gradient):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                mh, vh = m[k] / (1 - 0.9 ** step), v[k] / (1 - 0.999 ** step)
                w[k] -= 5e-3 * mh / (np.sqrt(vh) + 1e-8)
            net.set_weights(w)
    acc3 = accuracy()
    assert acc3 >= acc0 + 0.2, (acc0, acc3)
