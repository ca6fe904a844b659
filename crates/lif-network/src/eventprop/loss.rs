//! The paper's classification losses for one sample: first-spike cross-entropy (eq. 3) and
//! max-over-time voltage cross-entropy (eq. 4), each as a value plus its cotangents.
//!
//! Any other differentiable function of spike times or probed voltages is used through
//! [`NetworkCotangents`] and [`FeedForwardNet::backward`](super::FeedForwardNet::backward)
//! directly.

use super::network::FeedForwardNet;
use crate::engine::params::positive;
use crate::engine::{NetworkCotangents, NetworkWorkspace};
use crate::kind::LayerKind;
use crate::LifError;

/// A per-sample loss on the output layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Eq. (3) for one sample, on the first spike times `t_k` of a spiking output layer:
    ///
    /// `L = -log[ e^{-t_label/τ0} / Σ_k e^{-t_k/τ0} ] + α (e^{t_label/τ1} - 1)`.
    ///
    /// The regulariser is added with a positive sign: the text says it "encourages early spiking
    /// of the label neuron", which the printed bracket placement of eq. (3) would reverse.
    ///
    /// Missing first spikes are `t = +∞`: a silent non-label neuron contributes nothing to the
    /// softmax denominator. If the label neuron is silent the loss is `+∞` (reported as such, not
    /// NaN); the gradient is then the finite limit, which only pushes the other output neurons'
    /// first spikes later, and the label neuron gets no signal. [`Loss::FirstSpikeSilentRemedy`]
    /// is the opt-in remedy. Prediction: the output neuron with the earliest first spike.
    FirstSpike {
        /// Index of the correct output neuron.
        label: usize,
        /// Softmax temperature `τ0` in ms (Table 3: 0.5). Must be positive.
        tau0: f64,
        /// Regulariser time constant `τ1` in ms (Table 3: 6.4). Must be positive.
        tau1: f64,
        /// Regulariser weight `α` (Table 3: 3e-3). Must be finite.
        alpha: f64,
    },
    /// Eq. (3) with a remedy for silent output neurons (off unless chosen): an output neuron that
    /// never fires is given the pseudo first-spike time `t̂ = t_end + κ (ϑ - max_t V)`, later than
    /// any real spike and earlier the closer its membrane came to the threshold. The loss is then
    /// finite and its gradient raises the label neuron's voltage maximum (and lowers the others'),
    /// through the same exact maximum as [`Loss::MaxVoltage`]. Identical to `FirstSpike` when every
    /// output neuron fires.
    FirstSpikeSilentRemedy {
        /// Index of the correct output neuron.
        label: usize,
        /// Softmax temperature `τ0` in ms.
        tau0: f64,
        /// Regulariser time constant `τ1` in ms.
        tau1: f64,
        /// Regulariser weight `α`.
        alpha: f64,
        /// `κ` in ms per unit of voltage, the slope of the pseudo time (e.g. `τ_mem`). Positive.
        kappa: f64,
    },
    /// Eq. (4) for one sample, on the maxima over time `m_k = max_t V_k(t)` of a readout layer:
    /// `L = -log[ e^{m_label} / Σ_k e^{m_k} ]`. Prediction: the largest maximum.
    MaxVoltage {
        /// Index of the correct output neuron.
        label: usize,
    },
}

/// The value of a [`Loss`] for the last forward pass, written with its cotangents.
pub(crate) struct LossValue {
    pub loss: f64,
    pub prediction: Option<usize>,
}

impl Loss {
    /// The label.
    pub fn label(&self) -> usize {
        match *self {
            Loss::FirstSpike { label, .. }
            | Loss::FirstSpikeSilentRemedy { label, .. }
            | Loss::MaxVoltage { label } => label,
        }
    }

    /// Checks the label, the output layer kind and the hyper-parameters against `net`.
    pub fn validate(&self, net: &FeedForwardNet) -> Result<(), LifError> {
        let out = net.output()?;
        let label = self.label();
        if label >= out.n_out {
            return Err(LifError::LabelOutOfRange {
                label,
                n_out: out.n_out,
            });
        }
        self.validate_kind(net)?;
        match *self {
            Loss::FirstSpike {
                tau0, tau1, alpha, ..
            } => first_spike_params(tau0, tau1, alpha),
            Loss::FirstSpikeSilentRemedy {
                tau0,
                tau1,
                alpha,
                kappa,
                ..
            } => {
                first_spike_params(tau0, tau1, alpha)?;
                positive("kappa", kappa)
            }
            Loss::MaxVoltage { .. } => Ok(()),
        }
    }

    /// The class predicted by this loss's readout rule for the last forward pass in `ws`: the
    /// earliest first output spike (first-spike losses; `None` if no output neuron fires, ties to
    /// the lowest index) or the largest voltage maximum (`MaxVoltage`).
    pub(crate) fn prediction(&self, net: &FeedForwardNet, ws: &NetworkWorkspace) -> Option<usize> {
        let (off, n) = output_range(net);
        match self {
            Loss::MaxVoltage { .. } => {
                let m: Vec<f64> = ws.peaks()[off..off + n].iter().map(|m| m.value).collect();
                log_sum_exp(&m).1
            }
            _ => argmin_time(&first_times(ws, off, n)),
        }
    }

    /// Checks that the output layer has the kind this loss's readout rule needs.
    pub(crate) fn validate_kind(&self, net: &FeedForwardNet) -> Result<(), LifError> {
        let (loss, needs) = match self {
            Loss::MaxVoltage { .. } => ("MaxVoltage", LayerKind::Readout),
            Loss::FirstSpike { .. } => ("FirstSpike", LayerKind::Spiking),
            Loss::FirstSpikeSilentRemedy { .. } => ("FirstSpikeSilentRemedy", LayerKind::Spiking),
        };
        if net.output()?.kind == needs {
            Ok(())
        } else {
            Err(LifError::LossNeedsOutputKind { loss, needs })
        }
    }

    /// Value of this loss for the last forward pass in `ws` (run with
    /// [`Observe::silent_output_maxima`](super::Observe) set for
    /// [`Loss::FirstSpikeSilentRemedy`]), with its cotangents written into `cot` for
    /// [`FeedForwardNet::backward`]: the forward/backward split of
    /// [`FeedForwardNet::loss_and_gradient`]. Fails with `NoForwardPass` if `ws` does not hold a
    /// forward pass of `net` with what this loss needs.
    pub fn cotangents(
        &self,
        net: &FeedForwardNet,
        ws: &NetworkWorkspace,
        cot: &mut NetworkCotangents,
    ) -> Result<f64, LifError> {
        self.validate(net)?;
        let matches = match net.view_of(ws)? {
            Some((_, silent, first)) => {
                (silent || !self.needs_silent_maxima())
                    && (!first || self.reads_first_spikes_only())
            }
            None => false,
        };
        if !matches {
            return Err(LifError::NoForwardPass);
        }
        Ok(self.evaluate(net, ws, Some(cot)).loss)
    }

    /// Whether this loss reads only the first spike of each output neuron (and, for the
    /// remedy, the maxima before it), so that a forward pass with
    /// [`Observe::first_spike_output`](super::Observe) gives its value and gradient bits.
    pub fn reads_first_spikes_only(&self) -> bool {
        matches!(
            self,
            Loss::FirstSpike { .. } | Loss::FirstSpikeSilentRemedy { .. }
        )
    }

    /// Whether the forward pass must record maxima of silent spiking output neurons.
    pub(crate) fn needs_silent_maxima(&self) -> bool {
        matches!(self, Loss::FirstSpikeSilentRemedy { .. })
    }

    /// Loss value and prediction of the last forward pass in `ws`; with `cot`, also its
    /// cotangents (`cot` is reset first).
    pub(crate) fn evaluate(
        &self,
        net: &FeedForwardNet,
        ws: &NetworkWorkspace,
        cot: Option<&mut NetworkCotangents>,
    ) -> LossValue {
        // Callers check that `ws` holds a forward pass of `net` (at least one layer).
        let (off, n) = output_range(net);
        let mut cot = cot;
        if let Some(c) = cot.as_deref_mut() {
            c.reset_for(ws);
        }
        match *self {
            Loss::MaxVoltage { label } => {
                let m: Vec<f64> = ws.peaks()[off..off + n].iter().map(|m| m.value).collect();
                let (lse, pred) = log_sum_exp(&m);
                if let Some(c) = cot {
                    for (k, g) in c.peaks[off..off + n].iter_mut().enumerate() {
                        *g = (m[k] - lse).exp() - if k == label { 1.0 } else { 0.0 };
                    }
                }
                LossValue {
                    loss: lse - m[label],
                    prediction: pred,
                }
            }
            Loss::FirstSpike {
                label,
                tau0,
                tau1,
                alpha,
            }
            | Loss::FirstSpikeSilentRemedy {
                label,
                tau0,
                tau1,
                alpha,
                ..
            } => {
                let first = first_times(ws, off, n);
                let prediction = argmin_time(&first);
                // Times entering the softmax: real first spikes, pseudo times, or +inf.
                let kappa = match *self {
                    Loss::FirstSpikeSilentRemedy { kappa, .. } => Some(kappa),
                    _ => None,
                };
                let times: Vec<f64> = (0..n)
                    .map(|k| match (first[k], kappa) {
                        (Some(t), _) => t,
                        (None, Some(kappa)) => {
                            net.t_end + kappa * (net.params.threshold - ws.peaks()[off + k].value)
                        }
                        (None, None) => f64::INFINITY,
                    })
                    .collect();
                let z: Vec<f64> = times.iter().map(|&t| -t / tau0).collect();
                let (lse, _) = log_sum_exp(&z);
                let t_l = times[label];
                let loss = if t_l.is_finite() {
                    t_l / tau0 + lse + alpha * (t_l / tau1).exp_m1()
                } else {
                    f64::INFINITY
                };
                if let Some(c) = cot {
                    for k in 0..n {
                        let p = if z[k].is_finite() {
                            (z[k] - lse).exp()
                        } else {
                            0.0
                        };
                        let mut dl_dt = -p / tau0;
                        if k == label && t_l.is_finite() {
                            dl_dt += 1.0 / tau0 + alpha / tau1 * (t_l / tau1).exp();
                        }
                        match (ws.first_spike(off + k), kappa) {
                            (Some(idx), _) => c.spike_times[idx] = dl_dt,
                            (None, Some(kappa)) => c.peaks[off + k] = -kappa * dl_dt,
                            (None, None) => {}
                        }
                    }
                }
                LossValue { loss, prediction }
            }
        }
    }
}

/// Global index of the output layer's first neuron, and its size.
fn output_range(net: &FeedForwardNet) -> (usize, usize) {
    let out = net.layers.len().saturating_sub(1);
    (
        net.layer_offset(out),
        net.layers.last().map_or(0, |l| l.n_out),
    )
}

/// First spike times of global neurons `off..off + n`.
fn first_times(ws: &NetworkWorkspace, off: usize, n: usize) -> Vec<Option<f64>> {
    (off..off + n)
        .map(|j| ws.first_spike(j).map(|k| ws.spikes()[k].time))
        .collect()
}

fn first_spike_params(tau0: f64, tau1: f64, alpha: f64) -> Result<(), LifError> {
    positive("tau0", tau0)?;
    positive("tau1", tau1)?;
    if alpha.is_finite() {
        Ok(())
    } else {
        Err(LifError::InvalidParameter {
            name: "alpha",
            value: alpha,
            requirement: "finite",
        })
    }
}

/// `log Σ_k e^{x_k}` over the finite entries (`-inf` if none) and the index of the largest
/// (lowest index on ties).
pub(crate) fn log_sum_exp(x: &[f64]) -> (f64, Option<usize>) {
    let mut best: Option<usize> = None;
    for (k, &v) in x.iter().enumerate() {
        if v.is_finite() && best.is_none_or(|b| v > x[b]) {
            best = Some(k);
        }
    }
    let Some(b) = best else {
        return (f64::NEG_INFINITY, None);
    };
    let m = x[b];
    let s: f64 = x
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| (v - m).exp())
        .sum();
    (m + s.ln(), best)
}

/// Index of the earliest time (lowest index on ties), `None` if all are missing.
pub(crate) fn argmin_time(first: &[Option<f64>]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (k, t) in first.iter().enumerate() {
        if let Some(t) = *t {
            if best.is_none_or(|(_, b)| t < b) {
                best = Some((k, t));
            }
        }
    }
    best.map(|(k, _)| k)
}
