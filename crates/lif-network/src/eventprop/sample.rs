//! One-call API for training: loss, gradient and prediction of one sample (forward + backward).

use std::cell::RefCell;

use super::loss::Loss;
use super::network::{FeedForwardNet, Observe};
use crate::engine::InputSpike;
use crate::engine::{NetworkCotangents, NetworkWorkspace};
use crate::LifError;

/// Loss, gradient and diagnostics of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleResult {
    /// The loss (may be `+inf` for [`Loss::FirstSpike`] with a silent label neuron; never NaN).
    pub loss: f64,
    /// `dL/dw`, same shapes as `layers[i].weights`.
    pub gradient: Vec<Vec<f64>>,
    /// Predicted class (see [`FeedForwardNet::predict`]).
    pub prediction: Option<usize>,
    /// Number of spikes of all layers.
    pub spikes: usize,
    /// `min |V̇⁻|` over all spikes (`+inf` without spikes); small values mean large gradients.
    pub min_abs_vdot: f64,
}

/// [`SampleResult`] without the gradient (which [`FeedForwardNet::accumulate_gradient`] adds into
/// a caller's buffer).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleStats {
    /// The loss.
    pub loss: f64,
    /// Predicted class.
    pub prediction: Option<usize>,
    /// Number of spikes of all layers.
    pub spikes: usize,
    /// `min |V̇⁻|` over all spikes.
    pub min_abs_vdot: f64,
}

/// A workspace and cotangent buffers for one thread.
#[derive(Debug, Default)]
pub struct SampleScratch {
    /// Forward and backward buffers.
    pub workspace: NetworkWorkspace,
    /// Run [`FeedForwardNet::accumulate_gradient`]'s forward pass with
    /// [`Observe::first_spike_output`] when the loss reads only first output spikes
    /// ([`Loss::reads_first_spikes_only`]): the same loss, gradient and prediction bits, fewer
    /// instructions, but the record in `workspace` (and [`SampleStats::spikes`],
    /// [`SampleStats::min_abs_vdot`]) without the later output spikes. Default `false`: the full
    /// simulation.
    pub first_spike_output: bool,
    cot: NetworkCotangents,
}

thread_local! {
    static SCRATCH: RefCell<SampleScratch> = RefCell::new(SampleScratch::default());
}

impl FeedForwardNet {
    /// Loss, gradient and prediction of one sample. Uses a per-thread workspace, so it is cheap to
    /// call from many threads (e.g. rayon over samples); only the returned gradient is allocated.
    pub fn loss_and_gradient(
        &self,
        input: &[InputSpike],
        loss: &Loss,
    ) -> Result<SampleResult, LifError> {
        let mut gradient = self.zero_gradient();
        let stats = SCRATCH
            .with(|s| self.accumulate_gradient(input, loss, &mut s.borrow_mut(), &mut gradient))?;
        Ok(SampleResult {
            loss: stats.loss,
            gradient,
            prediction: stats.prediction,
            spikes: stats.spikes,
            min_abs_vdot: stats.min_abs_vdot,
        })
    }

    /// Like [`loss_and_gradient`](Self::loss_and_gradient), but *adds* the gradient into `grad`
    /// (shapes of the weights) and uses the caller's scratch, whose buffers are reused (once warm
    /// only vectors of the size of the output layer or of the number of layers are allocated,
    /// never anything of the size of the weights or the record). Sum over
    /// a mini-batch by calling it once per sample with the same `grad`.
    pub fn accumulate_gradient(
        &self,
        input: &[InputSpike],
        loss: &Loss,
        scratch: &mut SampleScratch,
        grad: &mut [Vec<f64>],
    ) -> Result<SampleStats, LifError> {
        self.validate()?;
        loss.validate(self)?;
        let observe = Observe {
            probes: &[],
            silent_output_maxima: loss.needs_silent_maxima(),
            first_spike_output: scratch.first_spike_output && loss.reads_first_spikes_only(),
        };
        let ws = &mut scratch.workspace;
        self.forward(input, observe, ws)?;
        let value = loss.evaluate(self, ws, Some(&mut scratch.cot));
        if value.loss.is_nan() {
            return Err(LifError::NonFiniteIn {
                what: "loss",
                population: format!("layer {}", self.layers.len() - 1),
                neuron: loss.label(),
                time: self.t_end,
            });
        }
        self.backward(ws, &scratch.cot, grad)?;
        Ok(SampleStats {
            loss: value.loss,
            prediction: value.prediction,
            spikes: ws.spikes().len(),
            min_abs_vdot: ws.min_abs_vdot(),
        })
    }

    /// Loss and prediction of one sample, forward pass only.
    pub fn loss_value(&self, input: &[InputSpike], loss: &Loss) -> Result<SampleStats, LifError> {
        SCRATCH.with(|s| {
            let ws = &mut s.borrow_mut().workspace;
            self.evaluate_with(input, loss, ws)
        })
    }

    /// [`loss_value`](Self::loss_value) with the caller's workspace.
    pub fn evaluate_with(
        &self,
        input: &[InputSpike],
        loss: &Loss,
        ws: &mut NetworkWorkspace,
    ) -> Result<SampleStats, LifError> {
        self.validate()?;
        loss.validate(self)?;
        let observe = Observe {
            probes: &[],
            silent_output_maxima: loss.needs_silent_maxima(),
            first_spike_output: false,
        };
        self.forward(input, observe, ws)?;
        let value = loss.evaluate(self, ws, None);
        Ok(SampleStats {
            loss: value.loss,
            prediction: value.prediction,
            spikes: ws.spikes().len(),
            min_abs_vdot: ws.min_abs_vdot(),
        })
    }

    /// Predicted class of one sample with the readout rule of `loss`: the output neuron with the
    /// earliest first spike for the first-spike losses (`None` if no output neuron fires; ties go
    /// to the lowest index), the largest voltage maximum for [`Loss::MaxVoltage`].
    /// The label of `loss` is not used.
    pub fn predict(&self, input: &[InputSpike], loss: &Loss) -> Result<Option<usize>, LifError> {
        SCRATCH.with(|s| self.predict_with(input, loss, &mut s.borrow_mut().workspace))
    }

    /// [`predict`](Self::predict) with the caller's workspace.
    pub fn predict_with(
        &self,
        input: &[InputSpike],
        loss: &Loss,
        ws: &mut NetworkWorkspace,
    ) -> Result<Option<usize>, LifError> {
        self.validate()?;
        loss.validate_kind(self)?;
        self.forward(input, Observe::default(), ws)?;
        Ok(loss.prediction(self, ws))
    }
}
