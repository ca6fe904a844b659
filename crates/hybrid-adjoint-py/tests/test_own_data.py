"""The trainer from Python on data of one's own: IDX image files of another size and class count
(written here, byte by byte, in the IDX layout) load with sizes taken from the files, encode as
the MNIST latency code, and train."""

import struct

import numpy as np

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
