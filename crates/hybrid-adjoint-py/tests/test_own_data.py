"""The trainer from Python on data of one's own: IDX image files of another size and class count
(written here, byte by byte, in the IDX layout) load with sizes taken from the files, encode as
the MNIST latency code, and train; spike events written by `write_events` in the HDF5 layout
load back as input spikes (times scaled to ms) and train; `write_events` refuses bad input."""

import struct

import numpy as np
import pytest

import hybrid_adjoint as ha


def write_idx(path, array):
    """An IDX file of unsigned bytes: magic (0, 0, 0x08, ndim), big-endian u32 sizes, data."""
    a = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, a.ndim) + struct.pack(f">{a.ndim}I", *a.shape)
    path.write_bytes(header + a.tobytes())


def three_stripes(n):
    """`n` images of 3x5 pixels, class `i % 3`: class k has its row k white, the rest black."""
    labels = np.arange(n) % 3
    images = np.zeros((n, 3, 5), dtype=np.uint8)
    for i, k in enumerate(labels):
        images[i, k, :] = 255
    return images, labels


def idx_config(tmp_path, epochs):
    for split, n in (("train", 40), ("test", 9)):
        images, labels = three_stripes(n)
        write_idx(tmp_path / f"{split}-images", images)
        write_idx(tmp_path / f"{split}-labels", labels)
    c = ha.default_config("mnist")
    c["data"]["images"].update(
        train_images=str(tmp_path / "train-images"), train_labels=str(tmp_path / "train-labels"),
        test_images=str(tmp_path / "test-images"), test_labels=str(tmp_path / "test-labels"))
    c["validation"] = {"fraction": 0.25}
    c["n_inputs"], c["n_classes"], c["hidden"] = 0, 0, 20  # 0: from the files
    c["init_hidden"].update(mean=1.5, std=0.5)
    c["train"].update(epochs=epochs, batch_size=5)
    return c


def test_idx_files_load_with_their_sizes_and_the_latency_code(tmp_path):
    data = ha.load_data(idx_config(tmp_path, 1))
    assert (data["n_inputs"], data["n_classes"]) == (15, 3)
    # The first 25 % of the 40 training images validate; the rest train.
    assert [len(data[s]["labels"]) for s in ("train", "validation", "test")] == [30, 10, 9]
    _, all_labels = three_stripes(40)
    assert np.array_equal(data["validation"]["labels"], all_labels[:10])
    assert np.array_equal(data["train"]["labels"], all_labels[10:])
    # A white pixel (255) spikes at time 0; black ones (below min_value) not at all.
    for (times, sources), k in zip(data["train"]["inputs"], data["train"]["labels"]):
        assert np.array_equal(times, np.zeros(5))
        assert np.array_equal(sources, np.arange(5 * k, 5 * k + 5))


def test_idx_files_train_from_python(tmp_path):
    before = ha.train(idx_config(tmp_path, 0), tmp_path / "initial")
    after = ha.train(idx_config(tmp_path, 6), tmp_path / "run")
    assert before.finished and after.finished
    acc0, acc = before.summary["test"]["accuracy"], after.summary["test"]["accuracy"]
    assert acc >= acc0 + 0.3, (acc0, acc)
    assert after.summary["test"]["n"] == 9


def stripe_events(n):
    """`n` examples of class `i % 3`: class k has events on channels 4k..4k+3 at 1-4 ms (times in
    seconds, as in the Spiking Heidelberg Digits)."""
    labels = np.arange(n) % 3
    return [(np.array([0.001, 0.002, 0.003, 0.004]), np.arange(4 * k, 4 * k + 4))
            for k in labels], labels


def events_config(tmp_path, epochs):
    examples, labels = stripe_events(24)
    for name, n in (("train", 24), ("test", 6), ("validation", 3)):
        ha.write_events(tmp_path / f"{name}.h5", examples[:n], labels[:n])
    c = ha.default_config("events")
    c["data"]["events"].update(train=str(tmp_path / "train.h5"), test=str(tmp_path / "test.h5"),
                               validation=str(tmp_path / "validation.h5"))
    c["validation"] = "files"
    c["encoding"]["events"]["t_max"] = 20.0
    c["t_end"], c["hidden"] = 40.0, 16
    c["init_hidden"].update(mean=1.5, std=0.5)
    c["train"].update(epochs=epochs, batch_size=6)
    c["train"]["adam"]["lr"] = 0.05
    return c


def test_events_written_from_python_load_as_input_spikes(tmp_path):
    data = ha.load_data(events_config(tmp_path, 1))
    assert (data["n_inputs"], data["n_classes"]) == (12, 3)
    assert [len(data[s]["labels"]) for s in ("train", "validation", "test")] == [24, 3, 6]
    _, labels = stripe_events(24)
    assert np.array_equal(data["train"]["labels"], labels)
    for (times, sources), k in zip(data["train"]["inputs"], labels):
        assert np.array_equal(times, [1.0, 2.0, 3.0, 4.0])  # seconds x time_scale 1000
        assert np.array_equal(sources, np.arange(4 * k, 4 * k + 4))


def test_events_train_from_python(tmp_path):
    before = ha.train(events_config(tmp_path, 0), tmp_path / "initial")
    after = ha.train(events_config(tmp_path, 10), tmp_path / "run")
    acc0, acc = before.summary["test"]["accuracy"], after.summary["test"]["accuracy"]
    assert acc >= acc0 + 0.3, (acc0, acc)


@pytest.mark.parametrize("examples, labels, message", [
    ([(np.array([0.001, 0.002]), np.array([0]))], [0], "2 times and 1 units"),
    ([(np.array([np.nan]), np.array([0]))], [0], "not finite"),
    ([(np.array([0.001]), np.array([-1]))], [0], "unit is -1"),
    ([(np.array([0.001]), np.array([0.5]))], [0], "must be integers"),
    ([(np.array([0.001]), np.array([0]))], [0, 1], "2 labels for 1 examples"),
    ([(np.array([0.001]), np.array([0]))], [-2], "label 0 is -2"),
])
def test_write_events_refuses_bad_input(tmp_path, examples, labels, message):
    with pytest.raises(ha.InvalidInputError, match=message):
        ha.write_events(tmp_path / "bad.h5", examples, labels)
    assert not (tmp_path / "bad.h5").exists()
