//! Progress reports of `snn-train`: a bar on a terminal, plain lines in a log file.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use snn_train::train::{BatchProgress, EpochMetrics, Observer};

/// Progress: a bar on a terminal; in a log file (stdout not a terminal) a plain line every
/// `log_every` minibatches and per validation chunk; one line per epoch either way.
pub struct Progress {
    bar: Option<ProgressBar>,
    epochs: usize,
    quiet: bool,
    terminal: bool,
    log_every: Option<usize>,
    epoch_start: Instant,
}

impl Progress {
    pub fn new(epochs: usize, quiet: bool, log_every: Option<usize>) -> Self {
        Self {
            bar: None,
            epochs,
            quiet,
            terminal: std::io::stdout().is_terminal() && std::io::stderr().is_terminal(),
            log_every,
            epoch_start: Instant::now(),
        }
    }

    fn new_bar(&mut self, len: usize, done: usize, message: String) {
        let bar = ProgressBar::new(len as u64);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len}, {eta} left")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_position(done as u64);
        bar.set_message(message);
        self.bar = Some(bar);
    }
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, n_batches: usize, done: usize) {
        self.epoch_start = Instant::now();
        if self.quiet {
            return;
        }
        if self.terminal {
            self.new_bar(n_batches, done, format!("epoch {epoch}/{}", self.epochs));
        } else if done == n_batches {
            println!(
                "epoch {epoch}/{}: trained before the stop; scoring it again",
                self.epochs
            );
        } else if done > 0 {
            println!(
                "epoch {epoch}/{}: resuming at minibatch {done}/{n_batches}",
                self.epochs
            );
        }
    }

    fn batch_finished(&mut self, p: &BatchProgress) {
        if let Some(bar) = &self.bar {
            bar.set_position(p.batch as u64);
            return;
        }
        if self.quiet {
            return;
        }
        let every = self.log_every.unwrap_or(p.n_batches.div_ceil(10)).max(1);
        if p.batch.is_multiple_of(every) && p.batch < p.n_batches {
            println!(
                "  epoch {}/{} minibatch {}/{} ({:.0}%), {:.1} s",
                p.epoch,
                self.epochs,
                p.batch,
                p.n_batches,
                100.0 * p.batch as f64 / p.n_batches as f64,
                self.epoch_start.elapsed().as_secs_f64()
            );
        }
    }

    fn validation_progress(&mut self, done: usize, n: usize) {
        if self.quiet {
            return;
        }
        if self.terminal {
            if done == n {
                self.bar = None;
            } else {
                let bar_is_validation = self
                    .bar
                    .as_ref()
                    .is_some_and(|b| b.length() == Some(n as u64));
                if !bar_is_validation {
                    if let Some(bar) = self.bar.take() {
                        bar.finish_and_clear();
                    }
                    self.new_bar(n, done, "validation".into());
                }
                if let Some(bar) = &self.bar {
                    bar.set_position(done as u64);
                }
            }
        } else if done < n {
            println!("  validation {done}/{n}");
        }
    }

    fn epoch_finished(&mut self, m: &EpochMetrics) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if !self.quiet {
            let test = m
                .test_accuracy
                .map(|a| format!("  test {:6.2}%", 100.0 * a))
                .unwrap_or_default();
            println!(
                "epoch {:>3}/{}  loss {:.4}  train {:6.2}%  validation {:6.2}%{test}  \
                 spikes/sample {:7.1}  {:6.2} s",
                m.epoch,
                self.epochs,
                m.train_loss,
                100.0 * m.train_accuracy,
                100.0 * m.validation_accuracy,
                m.spikes_per_sample,
                m.seconds
            );
        }
    }

    fn message(&mut self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }

    fn warning(&mut self, text: &str) {
        if let Some(bar) = &self.bar {
            bar.suspend(|| eprintln!("warning: {text}"));
        } else {
            eprintln!("warning: {text}");
        }
    }
}
