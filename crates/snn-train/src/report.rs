//! Output files of a training run: per-epoch metrics as CSV and JSON, and an SVG plot of the
//! accuracy and loss curves.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Result, TrainError};
use crate::store::atomic_write;
use crate::train::EpochMetrics;

/// Writes the metrics as CSV, one row per epoch, with a header of the field names (atomically).
pub fn write_metrics_csv(path: &Path, history: &[EpochMetrics]) -> Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in history {
        writer.serialize(row).map_err(|e| csv_error(path, e))?;
    }
    let bytes = writer.into_inner().map_err(|e| TrainError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    atomic_write(path, &bytes)
}

/// Reads metrics written by [`write_metrics_csv`].
pub fn read_metrics_csv(path: &Path) -> Result<Vec<EpochMetrics>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| csv_error(path, e))?;
    reader
        .deserialize()
        .map(|row| row.map_err(|e| csv_error(path, e)))
        .collect()
}

fn csv_error(path: &Path, e: csv::Error) -> TrainError {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => TrainError::io(path, source),
        other => TrainError::Format {
            path: path.to_path_buf(),
            message: format!("{other:?}"),
        },
    }
}

/// Writes any serialisable value as pretty-printed JSON (atomically).
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| TrainError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    atomic_write(path, (text + "\n").as_bytes())
}

/// Reads a JSON value written by [`write_json`].
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::Format {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Draws three panels against the epoch, training and validation curves in each: accuracy,
/// loss (mean over the examples with a finite loss), and the percentage of examples with an
/// infinite loss (first-spike loss: silent label neuron), which the loss panel cannot show. The
/// final test accuracy is a point on the accuracy panel when given.
pub fn plot_curves(
    path: &Path,
    title: &str,
    history: &[EpochMetrics],
    test_accuracy: Option<f64>,
) -> Result<()> {
    let mut svg = String::new();
    draw_curves(&mut svg, title, history, test_accuracy).map_err(|message| TrainError::Format {
        path: path.to_path_buf(),
        message: format!("cannot draw plot: {message}"),
    })?;
    atomic_write(path, svg.as_bytes())
}

type DrawResult = std::result::Result<(), String>;

/// A curve to draw: legend, colour and the value it shows for an epoch.
type Curve = (&'static str, RGBColor, fn(&EpochMetrics) -> f64);

const PANEL_WIDTH: u32 = 500;

fn draw_curves(
    svg: &mut String,
    title: &str,
    history: &[EpochMetrics],
    test_accuracy: Option<f64>,
) -> DrawResult {
    let root = SVGBackend::with_string(svg, (3 * PANEL_WIDTH, 420)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let root = root
        .titled(title, ("sans-serif", 20))
        .map_err(|e| e.to_string())?;
    let panels = root.split_evenly((1, 3));

    // Accuracy in percent; the lower bound follows the data so late progress stays visible.
    let low = history
        .iter()
        .flat_map(|m| [m.train_accuracy, m.validation_accuracy])
        .chain(test_accuracy)
        .fold(1.0f64, f64::min);
    let y_low = (100.0 * low - 5.0).clamp(0.0, 95.0).floor();
    let test_point = test_accuracy.map(|a| (format!("test {:.2}%", 100.0 * a), 100.0 * a));
    draw_panel(
        &panels[0],
        "accuracy (%)",
        history,
        y_low..100.0,
        &[
            ("train", BLUE, |m| 100.0 * m.train_accuracy),
            ("validation", RED, |m| 100.0 * m.validation_accuracy),
        ],
        test_point,
        SeriesLabelPosition::LowerRight,
    )?;

    let high = history
        .iter()
        .flat_map(|m| [m.train_loss, m.validation_loss])
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    draw_panel(
        &panels[1],
        "loss (finite examples)",
        history,
        0.0..(high * 1.05).max(1e-9),
        &[
            ("train", BLUE, |m| m.train_loss),
            ("validation", RED, |m| m.validation_loss),
        ],
        None,
        SeriesLabelPosition::UpperRight,
    )?;

    let high = history
        .iter()
        .flat_map(|m| [m.train_infinite_loss, m.validation_infinite_loss])
        .fold(0.0f64, f64::max);
    draw_panel(
        &panels[2],
        "infinite loss: silent label neuron (%)",
        history,
        0.0..(100.0 * high * 1.05).max(1.0),
        &[
            ("train", BLUE, |m| 100.0 * m.train_infinite_loss),
            ("validation", RED, |m| 100.0 * m.validation_infinite_loss),
        ],
        None,
        SeriesLabelPosition::UpperRight,
    )?;
    root.present().map_err(|e| e.to_string())
}

/// One panel: `curves` against the epoch on `y_range`, an optional labelled point at the last
/// epoch, and the legend at `legend`.
fn draw_panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    caption: &str,
    history: &[EpochMetrics],
    y_range: std::ops::Range<f64>,
    curves: &[Curve],
    point: Option<(String, f64)>,
    legend: SeriesLabelPosition,
) -> DrawResult {
    let last_epoch = history.last().map_or(1, |m| m.epoch).max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .caption(caption, ("sans-serif", 16))
        .build_cartesian_2d(0.0..last_epoch, y_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .draw()
        .map_err(|e| e.to_string())?;
    for &(name, color, value) in curves {
        chart
            .draw_series(LineSeries::new(
                history.iter().map(|m| (m.epoch as f64, value(m))),
                color,
            ))
            .map_err(|e| e.to_string())?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    if let Some((label, y)) = point {
        chart
            .draw_series(std::iter::once(Circle::new(
                (last_epoch, y),
                4,
                BLACK.filled(),
            )))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(|(x, y)| Circle::new((x + 10, y), 4, BLACK.filled()));
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    fn history() -> Vec<EpochMetrics> {
        (1..=3)
            .map(|e| EpochMetrics {
                epoch: e,
                learning_rate: 5e-3 * 0.95f64.powi(e as i32 - 1),
                train_loss: 1.0 / e as f64,
                train_infinite_loss: 0.0,
                train_accuracy: 0.5 + 0.1 * e as f64,
                spikes_per_sample: 10.0 * e as f64,
                train_no_prediction: 0.0,
                validation_loss: 1.1 / e as f64,
                validation_infinite_loss: 0.01,
                validation_accuracy: 0.45 + 0.1 * e as f64,
                test_accuracy: (e == 2).then_some(0.5),
                seconds: 0.25,
            })
            .collect()
    }

    #[test]
    fn csv_round_trips_every_field() {
        let dir = TempDir::new("report-csv");
        let path = dir.path().join("metrics.csv");
        write_metrics_csv(&path, &history()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("epoch,learning_rate,train_loss,train_infinite_loss,train_accuracy")
        );
        assert_eq!(text.lines().count(), 4);
        assert_eq!(read_metrics_csv(&path).unwrap(), history());
    }

    #[test]
    fn json_round_trips() {
        let dir = TempDir::new("report-json");
        let path = dir.path().join("metrics.json");
        write_json(&path, &history()).unwrap();
        let back: Vec<EpochMetrics> = read_json(&path).unwrap();
        assert_eq!(back, history());
    }

    #[test]
    fn malformed_json_is_a_format_error_naming_the_file() {
        let dir = TempDir::new("report-bad-json");
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{not json").unwrap();
        let err = read_json::<Vec<EpochMetrics>>(&path).unwrap_err();
        assert!(matches!(err, TrainError::Format { .. }));
        assert!(err.to_string().contains("bad.json"));
    }

    #[test]
    fn plot_is_an_svg_with_three_panels_and_the_test_point() {
        let dir = TempDir::new("report-svg");
        let path = dir.path().join("curves.svg");
        plot_curves(&path, "Yin-Yang", &history(), Some(0.9)).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("accuracy (%)"));
        assert!(svg.contains("loss (finite examples)"));
        assert!(svg.contains("silent label neuron"));
        assert!(svg.contains("test 90.00%"));
        // Two curves per panel.
        assert!(svg.matches("<polyline").count() >= 6);
    }
}
