//! Reader for the IDX format of the MNIST files (LeCun et al.): a big-endian header
//! `0x00 0x00 type ndims`, `ndims` big-endian `u32` sizes, then the data in row-major order.
//! Files may be raw or gzip-compressed; compression is recognised by the gzip magic bytes, not
//! by the file name.

use std::io::Read;
use std::path::Path;

use crate::error::{Result, TrainError};

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

/// Reads a whole file, decompressing it when it starts with the gzip magic bytes.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| TrainError::Decompress {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
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

/// Reads an IDX file (raw or gzip) whose magic number must be `expected_magic`.
pub fn read_idx(path: &Path, expected_magic: u32) -> Result<IdxArray> {
    let bytes = read_maybe_gz(path)?;
    parse_idx(&bytes, expected_magic, path)
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

    #[test]
    fn missing_file_is_an_io_error_naming_the_path() {
        let err = read_idx(Path::new("/nonexistent/dir/file"), MAGIC_IMAGES).unwrap_err();
        assert!(matches!(err, TrainError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/dir/file"));
    }
}
