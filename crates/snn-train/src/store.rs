//! Files that survive a crash: every output is written to a temporary file in the same
//! directory, flushed to disk (`fsync`), then renamed over the old one, so a reader (or a
//! resumed run) sees either the old or the new content, never half of one. Also the tensor
//! files (safetensors, `f64` little-endian arrays with a string metadata map) and the SHA-256
//! of data files.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use sha2::{Digest, Sha256};

use crate::error::{Result, TrainError};

/// Writes `bytes` to `path` atomically: temporary file `.<name>.tmp` beside it, `fsync`, rename,
/// then `fsync` of the directory (best effort: not every file system allows it).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e| TrainError::io(path, e);
    let name = path
        .file_name()
        .ok_or_else(|| {
            io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a file path",
            ))
        })?
        .to_string_lossy();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut file = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
        file.write_all(bytes).map_err(|e| TrainError::io(&tmp, e))?;
        file.sync_all().map_err(|e| TrainError::io(&tmp, e))?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Named `f64` arrays with their shapes, as stored in a tensor file.
pub type Tensors = Vec<(String, Vec<usize>, Vec<f64>)>;

/// Serialises `tensors` (little-endian `F64`) and `metadata` in the safetensors format.
pub fn tensors_to_bytes(
    tensors: &[(String, Vec<usize>, Vec<f64>)],
    metadata: HashMap<String, String>,
    path: &Path,
) -> Result<Vec<u8>> {
    let raw: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let format = |message: String| TrainError::Format {
        path: path.to_path_buf(),
        message,
    };
    let views = tensors
        .iter()
        .zip(&raw)
        .map(|((name, shape, _), bytes)| {
            TensorView::new(Dtype::F64, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| format(format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, Some(metadata)).map_err(|e| format(e.to_string()))
}

/// Writes a tensor file atomically.
pub fn write_tensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, Vec<f64>)],
    metadata: HashMap<String, String>,
) -> Result<()> {
    atomic_write(path, &tensors_to_bytes(tensors, metadata, path)?)
}

/// Reads a tensor file: every tensor (which must be `F64`) and the metadata map.
pub fn read_tensors(path: &Path) -> Result<(Tensors, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let format = |message: String| TrainError::Format {
        path: path.to_path_buf(),
        message,
    };
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| format(format!("not a safetensors file: {e}")))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| format(format!("not a safetensors file: {e}")))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        if view.dtype() != Dtype::F64 {
            return Err(format(format!(
                "tensor {name} is {:?}, expected F64",
                view.dtype()
            )));
        }
        let values = view
            .data()
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        tensors.push((name, view.shape().to_vec(), values));
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((tensors, metadata))
}

/// Takes the tensor `name` out of `tensors`, or a format error naming `path`.
pub fn take_tensor(
    tensors: &mut Tensors,
    name: &str,
    path: &Path,
) -> Result<(Vec<usize>, Vec<f64>)> {
    let i = tensors
        .iter()
        .position(|(n, _, _)| n == name)
        .ok_or_else(|| TrainError::Format {
            path: path.to_path_buf(),
            message: format!("no tensor {name}"),
        })?;
    let (_, shape, values) = tensors.swap_remove(i);
    Ok((shape, values))
}

/// SHA-256 of a file's bytes as it is on disk (compressed files are not decompressed), hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let io = |e| TrainError::io(path, e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn atomic_write_replaces_content_and_leaves_no_temporary_file() {
        let dir = TempDir::new("store-atomic");
        let path = dir.path().join("a.json");
        atomic_write(&path, b"old").unwrap();
        atomic_write(&path, b"new content").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new content");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.json")]);
    }

    #[test]
    fn tensors_round_trip_bit_for_bit_with_metadata() {
        let dir = TempDir::new("store-tensors");
        let path = dir.path().join("w.safetensors");
        let values = vec![0.1, -1.0 / 3.0, f64::MIN_POSITIVE, 1e300, -0.0, 7.0];
        let tensors = vec![
            ("b".to_string(), vec![2, 3], values.clone()),
            ("a".to_string(), vec![1], vec![std::f64::consts::PI]),
        ];
        let meta = HashMap::from([("k".to_string(), "v".to_string())]);
        write_tensors(&path, &tensors, meta.clone()).unwrap();
        let (mut back, back_meta) = read_tensors(&path).unwrap();
        assert_eq!(back_meta, meta);
        let (shape, b) = take_tensor(&mut back, "b", &path).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(
            b.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(take_tensor(&mut back, "c", &path).is_err());
    }

    #[test]
    fn garbage_is_a_format_error_naming_the_file() {
        let dir = TempDir::new("store-garbage");
        let path = dir.path().join("w.safetensors");
        std::fs::write(&path, b"{\"not\": \"tensors\"}").unwrap();
        let err = read_tensors(&path).unwrap_err();
        assert!(matches!(err, TrainError::Format { .. }), "{err}");
        assert!(err.to_string().contains("w.safetensors"));
    }

    // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
    #[test]
    fn file_hash_is_sha256() {
        let dir = TempDir::new("store-sha");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
