//! Guards against an IDX reader that mis-decompresses or mis-parses the real MNIST files: the
//! decompressed bytes must have the published SHA-256 values (listed in `docs/datasets.md`
//! §"MNIST"), and the loader must see 60000/10000 28×28 images with digit labels. The project does
//! not ship MNIST: the test reads the directory named by `MNIST_DIR` and skips (passes with a
//! note) when it is unset or holds no MNIST files.

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use snn_train::idx::read_maybe_gz;
use snn_train::mnist::{find_file, load_mnist, PIXELS, TEST_FILES, TRAIN_FILES};

fn mnist_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("MNIST_DIR").map(PathBuf::from) else {
        eprintln!("skipping: set MNIST_DIR to a directory holding the MNIST IDX files");
        return None;
    };
    if find_file(&dir, TRAIN_FILES.0).is_ok() {
        Some(dir)
    } else {
        eprintln!("skipping: no MNIST files in {}", dir.display());
        None
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn decompressed_files_have_published_sha256() {
    let Some(dir) = mnist_dir() else { return };
    let expected = [
        (
            TRAIN_FILES.0,
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        ),
        (
            TRAIN_FILES.1,
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        ),
        (
            TEST_FILES.0,
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        ),
        (
            TEST_FILES.1,
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        ),
    ];
    for (name, hash) in expected {
        let bytes = read_maybe_gz(&find_file(&dir, name).unwrap(), 100 << 20).unwrap();
        assert_eq!(sha256_hex(&bytes), hash, "{name}");
    }
}

#[test]
fn loader_sees_paper_split_sizes() {
    let Some(dir) = mnist_dir() else { return };
    let m = load_mnist(&dir).unwrap();
    assert_eq!(m.train.len() + m.validation.len(), 60_000);
    assert_eq!(m.validation.len(), 5_000);
    assert_eq!(m.test.len(), 10_000);
    assert_eq!(m.test.pixels.len(), 10_000 * PIXELS);
    // Every digit occurs in the test set (about a thousand times each).
    let mut counts = [0usize; 10];
    for &l in &m.test.labels {
        counts[usize::from(l)] += 1;
    }
    assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
}
