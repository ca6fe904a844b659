//! Spike-time (event) data in HDF5, in the layout of the Spiking Heidelberg Digits (Cramer et
//! al. 2022): `spikes/times` and `spikes/units` hold one variable-length array per example (the
//! spike times, in the file's time unit, and the input channel of each spike), `labels` one class
//! per example. Any integer or floating-point storage type is accepted (HDF5 converts on read;
//! the SHD files store times as 16-bit floats in seconds and units as `u16`).

use std::path::Path;

use hdf5::types::VarLenArray;
use hdf5_metno as hdf5;
use serde::{Deserialize, Serialize};

use crate::encoding::InputSpike;
use crate::error::{Result, TrainError};

/// The examples of one HDF5 event file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventSet {
    /// Spike times of each example, in the file's time unit.
    pub times: Vec<Vec<f64>>,
    /// Input channel of each spike.
    pub units: Vec<Vec<u32>>,
    /// Class of each example.
    pub labels: Vec<usize>,
}

impl EventSet {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The largest input channel + 1 (0 without spikes).
    pub fn n_inputs(&self) -> usize {
        self.units
            .iter()
            .flatten()
            .map(|&u| u as usize + 1)
            .max()
            .unwrap_or(0)
    }
}

fn h5_error(path: &Path, what: &str, e: hdf5::Error) -> TrainError {
    TrainError::Format {
        path: path.to_path_buf(),
        message: format!("{what}: {e}"),
    }
}

/// Reads an event file, checking that every example has as many units as times, that the
/// three datasets have the same number of examples and that every time is finite and >= 0.
pub fn read_events(path: &Path) -> Result<EventSet> {
    if !path.is_file() {
        return Err(TrainError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    // Read-only, without HDF5's file lock: a reader needs none, and the lock fails on file
    // systems without locking and while another process still holds a writer's descriptor.
    let file = hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false))
        .open(path)
        .map_err(|e| h5_error(path, "not an HDF5 file", e))?;
    let dataset = |name: &str| {
        file.dataset(name)
            .map_err(|e| h5_error(path, &format!("no dataset {name}"), e))
    };
    let times: Vec<VarLenArray<f64>> = dataset("spikes/times")?
        .read_raw()
        .map_err(|e| h5_error(path, "spikes/times", e))?;
    let units: Vec<VarLenArray<u32>> = dataset("spikes/units")?
        .read_raw()
        .map_err(|e| h5_error(path, "spikes/units", e))?;
    let labels: Vec<u32> = dataset("labels")?
        .read_raw()
        .map_err(|e| h5_error(path, "labels", e))?;
    let format = |message: String| TrainError::Format {
        path: path.to_path_buf(),
        message,
    };
    if times.len() != labels.len() || units.len() != labels.len() {
        return Err(format(format!(
            "{} spike-time arrays, {} unit arrays, {} labels",
            times.len(),
            units.len(),
            labels.len()
        )));
    }
    let mut set = EventSet::default();
    for (i, (t, u)) in times.iter().zip(&units).enumerate() {
        if t.len() != u.len() {
            return Err(format(format!(
                "example {i}: {} spike times but {} units",
                t.len(),
                u.len()
            )));
        }
        if let Some(bad) = t.iter().find(|x| !(x.is_finite() && **x >= 0.0)) {
            return Err(format(format!("example {i}: spike time {bad}")));
        }
        set.times.push(t.to_vec());
        set.units.push(u.to_vec());
    }
    set.labels = labels.into_iter().map(|l| l as usize).collect();
    Ok(set)
}

/// Writes examples in the layout [`read_events`] reads (times as `f64`, units as `u32`, labels
/// as `u32`): for tests and for converting other event data.
pub fn write_events(path: &Path, examples: &[(Vec<f64>, Vec<u32>)], labels: &[u32]) -> Result<()> {
    let h5 = |what: &'static str| move |e: hdf5::Error| h5_error(path, what, e);
    let file = hdf5::File::create(path).map_err(h5("cannot create"))?;
    let spikes = file.create_group("spikes").map_err(h5("spikes"))?;
    let times: Vec<VarLenArray<f64>> = examples
        .iter()
        .map(|(t, _)| VarLenArray::from_slice(t))
        .collect();
    let units: Vec<VarLenArray<u32>> = examples
        .iter()
        .map(|(_, u)| VarLenArray::from_slice(u))
        .collect();
    spikes
        .new_dataset_builder()
        .with_data(times.as_slice())
        .create("times")
        .map_err(h5("spikes/times"))?;
    spikes
        .new_dataset_builder()
        .with_data(units.as_slice())
        .create("units")
        .map_err(h5("spikes/units"))?;
    file.new_dataset_builder()
        .with_data(labels)
        .create("labels")
        .map_err(h5("labels"))?;
    Ok(())
}

/// Event encoding: each event becomes an input spike at `time · time_scale` ms on its channel;
/// events later than `t_max` ms are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventEncoding {
    /// Milliseconds per time unit of the file (1000: times in seconds, as in SHD).
    pub time_scale: f64,
    /// Latest input spike kept, ms.
    pub t_max: f64,
}

impl Default for EventEncoding {
    fn default() -> Self {
        Self {
            time_scale: 1000.0,
            t_max: 1000.0,
        }
    }
}

impl EventEncoding {
    /// Checks both values are finite and > 0.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [("time-scale", self.time_scale), ("t-max", self.t_max)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(TrainError::InvalidOption {
                    name,
                    value: v.to_string(),
                    reason: "must be a finite number > 0",
                });
            }
        }
        Ok(())
    }

    /// The input spikes of one example, sorted by time.
    pub fn encode(&self, times: &[f64], units: &[u32]) -> Vec<InputSpike> {
        let mut spikes: Vec<InputSpike> = times
            .iter()
            .zip(units)
            .map(|(&t, &u)| InputSpike {
                time: t * self.time_scale,
                source: u,
            })
            .filter(|s| s.time <= self.t_max)
            .collect();
        spikes.sort_by(|a, b| a.time.total_cmp(&b.time));
        spikes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn written_file_reads_back_in_the_shd_layout() {
        let dir = TempDir::new("events-rw");
        let path = dir.path().join("train.h5");
        let examples = vec![
            (vec![0.01, 0.002, 0.5], vec![3, 0, 699]),
            (vec![], vec![]),
            (vec![0.25], vec![7]),
        ];
        write_events(&path, &examples, &[1, 0, 19]).unwrap();
        let set = read_events(&path).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.labels, vec![1, 0, 19]);
        assert_eq!(set.times[0], vec![0.01, 0.002, 0.5]);
        assert_eq!(set.units[0], vec![3, 0, 699]);
        assert!(set.times[1].is_empty());
        assert_eq!(set.n_inputs(), 700);
    }

    // The storage types of the published SHD files: times as 16-bit floats (seconds), units and
    // labels as u16. HDF5 converts them on reading; the expected times are the f16 values
    // widened by the `half` crate, independently of HDF5.
    #[test]
    fn shd_storage_types_f16_times_and_u16_units_and_labels_are_read() {
        use half::f16;
        let dir = TempDir::new("events-f16");
        let path = dir.path().join("shd.h5");
        let seconds = [[0.1, 0.0625, 0.9], [0.333, 0.0, 1.2]];
        {
            let file = hdf5::File::create(&path).unwrap();
            let spikes = file.create_group("spikes").unwrap();
            let times: Vec<VarLenArray<f16>> = seconds
                .iter()
                .map(|t| VarLenArray::from_slice(&t.map(f16::from_f64)))
                .collect();
            let units: Vec<VarLenArray<u16>> = [[699u16, 0, 12], [5, 5, 300]]
                .iter()
                .map(|u| VarLenArray::from_slice(u))
                .collect();
            spikes
                .new_dataset_builder()
                .with_data(times.as_slice())
                .create("times")
                .unwrap();
            spikes
                .new_dataset_builder()
                .with_data(units.as_slice())
                .create("units")
                .unwrap();
            file.new_dataset_builder()
                .with_data(&[19u16, 3])
                .create("labels")
                .unwrap();
        }
        let set = read_events(&path).unwrap();
        for (read, written) in set.times.iter().zip(&seconds) {
            let widened: Vec<f64> = written.iter().map(|&t| f16::from_f64(t).to_f64()).collect();
            assert_eq!(*read, widened);
        }
        assert_ne!(set.times[0][0], 0.1, "a 16-bit time is not the f64 0.1");
        assert_eq!(set.units, vec![vec![699, 0, 12], vec![5, 5, 300]]);
        assert_eq!(set.labels, vec![19, 3]);
        assert_eq!(set.n_inputs(), 700);
    }

    // By hand: seconds to ms, sorted, the 0.5 s event beyond t_max = 100 ms dropped.
    #[test]
    fn encoding_scales_sorts_and_crops() {
        let enc = EventEncoding {
            time_scale: 1000.0,
            t_max: 100.0,
        };
        let spikes = enc.encode(&[0.01, 0.002, 0.5], &[3, 0, 699]);
        let pairs: Vec<(f64, u32)> = spikes.iter().map(|s| (s.time, s.source)).collect();
        assert_eq!(pairs, vec![(2.0, 0), (10.0, 3)]);
    }

    #[test]
    fn malformed_files_are_format_errors_naming_the_file() {
        let dir = TempDir::new("events-bad");
        let path = dir.path().join("bad.h5");
        write_events(&path, &[(vec![0.1, 0.2], vec![1, 2])], &[0, 1]).unwrap();
        let err = read_events(&path).unwrap_err();
        assert!(err.to_string().contains("bad.h5") && err.to_string().contains("labels"));

        let path = dir.path().join("ragged.h5");
        write_events(&path, &[(vec![0.1, 0.2], vec![1])], &[0]).unwrap();
        assert!(read_events(&path)
            .unwrap_err()
            .to_string()
            .contains("2 spike times but 1 units"));

        let path = dir.path().join("not.h5");
        std::fs::write(&path, b"plain text").unwrap();
        assert!(matches!(read_events(&path), Err(TrainError::Format { .. })));
        assert!(matches!(
            read_events(&dir.path().join("missing.h5")),
            Err(TrainError::Io { .. })
        ));
    }
}
