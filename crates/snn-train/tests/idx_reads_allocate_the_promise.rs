//! Reading an IDX file, raw or gzip, allocates no more than the data its header promises plus a
//! fixed margin (the 64 KiB trailing-data check, the gzip decoder's state and the file buffer):
//! the data buffer is allocated once, of the promised size, where a growing buffer would have
//! doubled past it (3 000 000 promised bytes in a 4 MiB buffer). Counted by an instrumented
//! global allocator: every byte allocated during the read, growth by `realloc` included (so an
//! upper bound of the most held at once). The allocator counts every thread, so this test is a
//! target of its own, without the libtest harness.

use std::alloc::System;
use std::io::Write;

use snn_train::idx::{read_idx, to_idx_bytes, IdxArray, MAGIC_IMAGES, TRAILING_MARGIN};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Room for everything but the data: the trailing-data check (64 KiB), the gzip decoder (its
/// 32 KiB window and state), the file buffers and the header.
const MARGIN: usize = TRAILING_MARGIN as usize + 64 * 1024;

fn main() {
    let dir = std::env::temp_dir().join(format!("snn-train-idx-alloc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 3 images of 1000 x 1000 pseudo-random pixels (random so that gzip cannot compress them
    // past its bound of 1032 output bytes per input byte).
    let dims = vec![3, 1000, 1000];
    let promised: usize = dims.iter().product();
    let mut x = 12345u32;
    let data: Vec<u8> = (0..promised)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect();
    let bytes = to_idx_bytes(&IdxArray {
        dims: dims.clone(),
        data,
    });
    let raw = dir.join("images");
    std::fs::write(&raw, &bytes).unwrap();
    let gz = dir.join("images.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(&bytes).unwrap();
    encoder.finish().unwrap();
    drop(bytes);

    for path in [&raw, &gz] {
        let region = Region::new(GLOBAL);
        let array = read_idx(path, MAGIC_IMAGES).unwrap();
        let allocated = region.change().bytes_allocated;
        assert_eq!(array.dims, dims);
        assert_eq!(array.data.len(), promised);
        assert!(
            allocated <= promised + MARGIN,
            "{}: {allocated} bytes allocated, more than the {promised} promised + {MARGIN}",
            path.display()
        );
        println!(
            "{}: {allocated} bytes allocated for {promised} promised (margin {MARGIN})",
            path.display()
        );
        drop(array);
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("ok: IDX reads allocate the promise plus a fixed margin");
}
