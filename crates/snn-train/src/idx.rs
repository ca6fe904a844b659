//! Reader for the IDX format of the MNIST files (LeCun et al.): a big-endian header
//! `0x00 0x00 type ndims`, `ndims` big-endian `u32` sizes, then the data in row-major order.
//! Files may be raw or gzip-compressed; compression is recognised by the gzip magic bytes, not
//! by the file name.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::{with_capacity, Result, TrainError};

/// IDX type byte of unsigned bytes, the only element type MNIST uses.
pub const IDX_TYPE_U8: u8 = 0x08;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const MAGIC_LABELS: u32 = 0x0000_0801;
/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const MAGIC_IMAGES: u32 = 0x0000_0803;

/// The two bytes that open every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxArray {
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements in row-major order; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// Largest expansion of deflate data: about 1032 output bytes per input byte (a 258-byte match
/// coded in two bits at best), so a gzip file of `n` bytes cannot hold more than `1032 n`.
pub const DEFLATE_MAX_RATIO: u64 = 1032;

/// Bytes read past the size a header promises before reporting trailing data: the reader never
/// decompresses more than the promise plus this margin.
pub const TRAILING_MARGIN: u64 = 64 * 1024;

fn decompress_error(path: &Path, e: std::io::Error) -> TrainError {
    TrainError::Decompress {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Reads at most `n` bytes (fewer at the end of the stream); memory grows with the bytes
/// actually read, never with `n`.
fn read_up_to(source: &mut dyn Read, n: u64, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    source
        .take(n)
        .read_to_end(&mut out)
        .map_err(|e| decompress_error(path, e))?;
    Ok(out)
}

/// Reads the `n` data bytes a header promises into a buffer allocated once with room for exactly
/// `n` (fewer bytes at the end of the stream): memory never exceeds the promise, where a growing
/// buffer would double past it (a 47 MB promise would take a 64 MiB buffer).
fn read_promised(source: &mut dyn Read, n: u64, path: &Path) -> Result<Vec<u8>> {
    let len = usize::try_from(n).map_err(|_| TrainError::TooLarge {
        what: "IDX data",
        len: usize::MAX,
    })?;
    let mut out = with_capacity("IDX data", len)?;
    source
        .take(n)
        .read_to_end(&mut out)
        .map_err(|e| decompress_error(path, e))?;
    Ok(out)
}

/// Opens a file for reading, decompressing it when it starts with the gzip magic bytes;
/// returns the reader, whether it is gzip, and the file's size on disk.
fn open_maybe_gz(path: &Path) -> Result<(Box<dyn Read>, bool, u64)> {
    let io = |e| TrainError::io(path, e);
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    let gz = reader.fill_buf().map_err(io)?.starts_with(&GZIP_MAGIC);
    let source: Box<dyn Read> = if gz {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    Ok((source, gz, len))
}

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes; more than
/// `limit` bytes (after decompression) is an error, found after reading `limit + 1` bytes.
pub fn read_maybe_gz(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let (mut source, _, _) = open_maybe_gz(path)?;
    let out = read_up_to(&mut source, limit.saturating_add(1), path)?;
    if out.len() as u64 > limit {
        return Err(TrainError::Decompress {
            path: path.to_path_buf(),
            message: format!("more than {limit} bytes"),
        });
    }
    Ok(out)
}

/// Parses the bytes of an IDX file whose magic number must be `expected_magic`; `path` only
/// names the file in errors.
pub fn parse_idx(bytes: &[u8], expected_magic: u32, path: &Path) -> Result<IdxArray> {
    let actual = bytes.len() as u64;
    let truncated = |expected: u64| TrainError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    if bytes.len() < 4 {
        return Err(truncated(4));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if magic != expected_magic {
        return Err(TrainError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected: expected_magic,
        });
    }
    let ndims = usize::from(bytes[3]);
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(truncated(header_len as u64));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    // u64 arithmetic: the product of up to 255 u32 sizes may overflow; saturate, which then
    // reads as "truncated" with an honest (huge) expected size.
    let data_len = dims
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let expected = (header_len as u64).saturating_add(data_len);
    if actual < expected {
        return Err(truncated(expected));
    }
    if actual > expected {
        return Err(TrainError::TrailingData {
            path: path.to_path_buf(),
            expected,
            extra: actual - expected,
        });
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Reads an IDX file (raw or gzip) whose magic number must be `expected_magic`, reading the
/// header first and then exactly the data it promises: a raw file's size is checked before its
/// data is read; a gzip file is decompressed only up to the promise plus [`TRAILING_MARGIN`]
/// bytes, and a promise larger than [`DEFLATE_MAX_RATIO`] times the compressed size is refused
/// before anything is allocated. The data buffer is allocated once, of the promised size.
/// Trailing bytes are counted up to that margin.
pub fn read_idx(path: &Path, expected_magic: u32) -> Result<IdxArray> {
    let (mut source, gz, file_len) = open_maybe_gz(path)?;
    let head = read_up_to(&mut source, 4, path)?;
    let truncated = |expected: u64, actual: u64| TrainError::Truncated {
        path: path.to_path_buf(),
        expected,
        actual,
    };
    if head.len() < 4 {
        return Err(truncated(4, head.len() as u64));
    }
    let magic = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if magic != expected_magic {
        return Err(TrainError::BadMagic {
            path: path.to_path_buf(),
            found: magic,
            expected: expected_magic,
        });
    }
    let header_len = 4 + 4 * u64::from(head[3]);
    let sizes = read_up_to(&mut source, header_len - 4, path)?;
    if (sizes.len() as u64) < header_len - 4 {
        return Err(truncated(header_len, 4 + sizes.len() as u64));
    }
    let dims: Vec<usize> = sizes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let data_len = dims
        .iter()
        .fold(1u64, |acc, &d| acc.saturating_mul(d as u64));
    let expected = header_len.saturating_add(data_len);
    if gz {
        let most = file_len.saturating_mul(DEFLATE_MAX_RATIO);
        if expected > most {
            return Err(TrainError::Decompress {
                path: path.to_path_buf(),
                message: format!(
                    "header promises {expected} bytes, more than a gzip file of {file_len} bytes \
                     can hold ({most})"
                ),
            });
        }
    } else if file_len < expected {
        return Err(truncated(expected, file_len));
    } else if file_len > expected {
        return Err(TrainError::TrailingData {
            path: path.to_path_buf(),
            expected,
            extra: file_len - expected,
        });
    }
    let data = read_promised(&mut source, data_len, path)?;
    if (data.len() as u64) < data_len {
        return Err(truncated(expected, header_len + data.len() as u64));
    }
    let extra = read_up_to(&mut source, TRAILING_MARGIN, path)?.len() as u64;
    if extra > 0 {
        return Err(TrainError::TrailingData {
            path: path.to_path_buf(),
            expected,
            extra,
        });
    }
    Ok(IdxArray { dims, data })
}

/// Serialises an array as IDX bytes of type `u8` (the inverse of [`parse_idx`]), for writing
/// small test files.
pub fn to_idx_bytes(array: &IdxArray) -> Vec<u8> {
    let mut out = vec![0, 0, IDX_TYPE_U8, array.dims.len() as u8];
    for &d in &array.dims {
        out.extend_from_slice(&(d as u32).to_be_bytes());
    }
    out.extend_from_slice(&array.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use std::io::Write;

    fn write_gz(path: &Path, bytes: &[u8]) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    // Hand-written bytes, not produced by to_idx_bytes: magic 0x00000803, dims 2x2x3, 12 pixels.
    fn images_bytes() -> Vec<u8> {
        let mut b = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        b.extend(0u8..12);
        b
    }

    #[test]
    fn valid_raw_file_is_read_with_its_dims() {
        let dir = TempDir::new("idx-valid");
        let path = dir.path().join("images");
        std::fs::write(&path, images_bytes()).unwrap();
        let a = read_idx(&path, MAGIC_IMAGES).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data, (0u8..12).collect::<Vec<_>>());
    }

    #[test]
    fn gzip_file_reads_as_the_raw_file() {
        let dir = TempDir::new("idx-gz");
        let path = dir.path().join("images.gz");
        write_gz(&path, &images_bytes());
        let a = read_idx(&path, MAGIC_IMAGES).unwrap();
        assert_eq!(a.dims, vec![2, 2, 3]);
        assert_eq!(a.data, (0u8..12).collect::<Vec<_>>());
    }

    #[test]
    fn serialisation_matches_hand_written_bytes() {
        let a = IdxArray {
            dims: vec![2, 2, 3],
            data: (0u8..12).collect(),
        };
        assert_eq!(to_idx_bytes(&a), images_bytes());
    }

    #[test]
    fn wrong_magic_is_reported_with_both_numbers() {
        let dir = TempDir::new("idx-magic");
        let path = dir.path().join("labels");
        std::fs::write(&path, images_bytes()).unwrap();
        match read_idx(&path, MAGIC_LABELS) {
            Err(TrainError::BadMagic {
                found, expected, ..
            }) => {
                assert_eq!(found, 0x0803);
                assert_eq!(expected, 0x0801);
            }
            other => panic!("expected BadMagic, got {other:?}"),
        }
    }

    #[test]
    fn truncated_data_is_reported_with_sizes() {
        let mut b = images_bytes();
        b.truncate(b.len() - 5);
        match parse_idx(&b, MAGIC_IMAGES, Path::new("x")) {
            Err(TrainError::Truncated {
                expected, actual, ..
            }) => {
                assert_eq!(expected, 16 + 12);
                assert_eq!(actual, 16 + 7);
            }
            other => panic!("expected Truncated, got {other:?}"),
        }
    }

    #[test]
    fn truncated_header_is_reported() {
        let b = &images_bytes()[..10];
        assert!(matches!(
            parse_idx(b, MAGIC_IMAGES, Path::new("x")),
            Err(TrainError::Truncated {
                expected: 16,
                actual: 10,
                ..
            })
        ));
        assert!(matches!(
            parse_idx(&[0, 0], MAGIC_IMAGES, Path::new("x")),
            Err(TrainError::Truncated { actual: 2, .. })
        ));
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let mut b = images_bytes();
        b.extend([1, 2, 3]);
        assert!(matches!(
            parse_idx(&b, MAGIC_IMAGES, Path::new("x")),
            Err(TrainError::TrailingData { extra: 3, .. })
        ));
    }

    #[test]
    fn corrupt_gzip_is_a_decompress_error() {
        let dir = TempDir::new("idx-corrupt");
        let path = dir.path().join("images.gz");
        write_gz(&path, &images_bytes());
        let mut gz = std::fs::read(&path).unwrap();
        // Cut the stream in the middle: the decoder must report an unexpected end.
        gz.truncate(gz.len() / 2);
        std::fs::write(&path, &gz).unwrap();
        assert!(matches!(
            read_idx(&path, MAGIC_IMAGES),
            Err(TrainError::Decompress { .. })
        ));
    }

    // A gzip bomb in miniature: the header promises 2x2x3 = 12 bytes of data, the stream
    // decompresses to 10 MB of zeros. The reader must stop after the promise plus the margin.
    #[test]
    fn gzip_data_beyond_the_header_promise_is_not_decompressed() {
        let dir = TempDir::new("idx-bomb");
        let path = dir.path().join("images.gz");
        let mut bytes = images_bytes();
        bytes.resize(10_000_000, 0);
        write_gz(&path, &bytes);
        assert!(std::fs::metadata(&path).unwrap().len() < 100_000);
        match read_idx(&path, MAGIC_IMAGES) {
            Err(TrainError::TrailingData {
                expected, extra, ..
            }) => {
                assert_eq!(expected, 28);
                assert_eq!(extra, TRAILING_MARGIN);
            }
            other => panic!("expected TrailingData, got {other:?}"),
        }
        assert!(matches!(
            read_maybe_gz(&path, 1000),
            Err(TrainError::Decompress { .. })
        ));
    }

    // A header promising 2^32-1 images of 2^32-1 x 2^32-1 pixels, in a tiny gzip file: refused
    // before any allocation (the deflate bound), and as a raw file by the size check.
    #[test]
    fn impossible_promises_are_refused_before_reading() {
        let dir = TempDir::new("idx-promise");
        let mut b = vec![0, 0, 8, 3];
        b.extend([0xff; 12]);
        b.extend([1, 2, 3]);
        let gz = dir.path().join("images.gz");
        write_gz(&gz, &b);
        assert!(matches!(
            read_idx(&gz, MAGIC_IMAGES),
            Err(TrainError::Decompress { .. })
        ));
        let raw = dir.path().join("images");
        std::fs::write(&raw, &b).unwrap();
        assert!(matches!(
            read_idx(&raw, MAGIC_IMAGES),
            Err(TrainError::Truncated { actual: 19, .. })
        ));
    }

    #[test]
    fn raw_file_errors_match_the_byte_parser() {
        let dir = TempDir::new("idx-raw-errors");
        let path = dir.path().join("images");
        let mut b = images_bytes();
        b.extend([1, 2, 3]);
        std::fs::write(&path, &b).unwrap();
        assert!(matches!(
            read_idx(&path, MAGIC_IMAGES),
            Err(TrainError::TrailingData { extra: 3, .. })
        ));
        std::fs::write(&path, &images_bytes()[..20]).unwrap();
        assert!(matches!(
            read_idx(&path, MAGIC_IMAGES),
            Err(TrainError::Truncated {
                expected: 28,
                actual: 20,
                ..
            })
        ));
        std::fs::write(&path, &images_bytes()[..10]).unwrap();
        assert!(matches!(
            read_idx(&path, MAGIC_IMAGES),
            Err(TrainError::Truncated {
                expected: 16,
                actual: 10,
                ..
            })
        ));
    }

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = read_idx(Path::new("/nonexistent/dir/file"), MAGIC_IMAGES).unwrap_err();
        assert!(matches!(err, TrainError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/dir/file"));
    }
}
