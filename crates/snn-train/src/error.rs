//! The crate's error type: every failure a user can cause (bad files, bad options, a network
//! that cannot be simulated) with the numbers needed to act on it.

use std::path::PathBuf;

/// Everything that can go wrong while loading data, training or evaluating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A gzip file could not be decompressed.
    #[error("{}: corrupt gzip data: {message}", path.display())]
    Decompress {
        /// The file concerned.
        path: PathBuf,
        /// The decompressor's message.
        message: String,
    },
    /// An IDX file starts with the wrong magic number (data type or number of dimensions).
    #[error("{}: IDX magic number {found:#010x}, expected {expected:#010x}", path.display())]
    BadMagic {
        /// The file concerned.
        path: PathBuf,
        /// The first four bytes, big-endian.
        found: u32,
        /// The magic number expected for this kind of file.
        expected: u32,
    },
    /// An IDX file is shorter than its header promises.
    #[error("{}: truncated, header promises {expected} bytes, file has {actual}", path.display())]
    Truncated {
        /// The file concerned.
        path: PathBuf,
        /// Bytes required by the header (header included).
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// An IDX file is longer than its header promises.
    #[error("{}: {extra} bytes after the {expected} the header promises", path.display())]
    TrailingData {
        /// The file concerned.
        path: PathBuf,
        /// Bytes required by the header (header included).
        expected: u64,
        /// Bytes beyond that.
        extra: u64,
    },
    /// An image file and its label file disagree on the number of items.
    #[error("{images} images but {labels} labels")]
    CountMismatch {
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Images have other dimensions than required.
    #[error("{}: images are {rows}x{cols}, expected {expected_rows}x{expected_cols}", path.display())]
    WrongDims {
        /// The file concerned.
        path: PathBuf,
        /// Rows found.
        rows: usize,
        /// Columns found.
        cols: usize,
        /// Rows required.
        expected_rows: usize,
        /// Columns required.
        expected_cols: usize,
    },
    /// A label is outside `0..n_classes`.
    #[error("{}: label {label} at index {index} is not below {n_classes}", path.display())]
    LabelOutOfRange {
        /// The file concerned.
        path: PathBuf,
        /// Index of the item.
        index: usize,
        /// The label found.
        label: u8,
        /// Number of classes.
        n_classes: usize,
    },
    /// A required dataset file is missing from a directory.
    #[error("{}: no file {name} (or {name}.gz)", dir.display())]
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The file name looked for.
        name: String,
    },
    /// An option is out of its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What a valid value is.
        reason: &'static str,
    },
    /// A weights or configuration file does not have the expected structure.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Two arrays that must have the same shape do not.
    #[error("{what}: expected {expected} values, found {found}")]
    ShapeMismatch {
        /// Which arrays.
        what: &'static str,
        /// Length required.
        expected: usize,
        /// Length given.
        found: usize,
    },
    /// The output directory already holds a run.
    #[error(
        "{}: holds another run ({found}); continue it with --resume {}, or replace it with --force",
        dir.display(),
        dir.display()
    )]
    RunExists {
        /// The directory.
        dir: PathBuf,
        /// The run file found in it.
        found: String,
    },
    /// `--resume` names a directory without a run.
    #[error("{}: no run to resume (no {file})", dir.display())]
    NoRun {
        /// The directory.
        dir: PathBuf,
        /// The file that is missing.
        file: &'static str,
    },
    /// `--resume` names a run on another kind of data than the subcommand trains.
    #[error(
        "{}: holds a run on {found} data, not {asked} data; continue it with: snn-train {command} \
         --resume {}",
        dir.display(),
        dir.display()
    )]
    OtherTask {
        /// The run directory.
        dir: PathBuf,
        /// The kind of data of the run (`yinyang`, `images`, `events`).
        found: &'static str,
        /// The kind of data of the subcommand given.
        asked: &'static str,
        /// The subcommand that continues the run.
        command: &'static str,
    },
    /// A data file differs from the one a run was started with.
    #[error(
        "{}: SHA-256 {found} differs from {recorded}, recorded when the run started{hint}",
        path.display()
    )]
    DataChanged {
        /// The file.
        path: PathBuf,
        /// The checksum in the run's configuration.
        recorded: String,
        /// The checksum now.
        found: String,
        /// What to do about it, starting with `"; "` (or empty).
        hint: &'static str,
    },
    /// An array too large to allocate.
    #[error("{what}: {len} elements cannot be allocated")]
    TooLarge {
        /// Which array.
        what: &'static str,
        /// Elements asked for.
        len: usize,
    },
    /// The network could not be built, simulated or differentiated.
    #[error("network: {0}")]
    Network(#[from] lif_network::LifError),
    /// A loss or gradient came out non-finite.
    #[error(
        "non-finite {what} ({value}) for example {sample}{}",
        epoch.map(|e| format!(" in epoch {e}")).unwrap_or_default()
    )]
    NonFinite {
        /// Which quantity.
        what: &'static str,
        /// The offending value.
        value: f64,
        /// Index of the example in its dataset.
        sample: usize,
        /// Training epoch (1-based), `None` outside training.
        epoch: Option<usize>,
    },
}

/// Result with [`TrainError`].
pub type Result<T> = std::result::Result<T, TrainError>;

impl TrainError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrainError::Io {
            path: path.into(),
            source,
        }
    }
}

/// An empty vector with room for `len` elements, or [`TrainError::TooLarge`] if it cannot be
/// allocated (instead of a capacity-overflow panic or an abort).
pub(crate) fn with_capacity<T>(what: &'static str, len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(len)
        .map_err(|_| TrainError::TooLarge { what, len })?;
    Ok(v)
}
