//! Backward pass of a recurrent network: the adjoint of Table 2 over all events in global
//! reverse order, with the gradients of eq. (2) and eq. (56) (convention as in `backward.rs`), and
//! optional samples of the adjoint trajectory.

use super::recurrent::{Logged, RecurrentGradient, RecurrentNet, RecurrentWorkspace};
use crate::LifError;

impl RecurrentNet {
    /// Adds `dL/dW` and `dL/dW_in` into `grad` for a loss with `∂l/∂t_k` per spike (aligned with
    /// [`RecurrentWorkspace::spikes`]) and `∂l/∂V` per probe, walking all events in reverse.
    pub fn backward(
        &self,
        ws: &RecurrentWorkspace,
        spike_cot: &[f64],
        probe_cot: &[f64],
        grad: &mut RecurrentGradient,
    ) -> Result<(), LifError> {
        self.backward_sampled(ws, spike_cot, probe_cot, grad, &[], &mut Vec::new())
    }

    /// [`backward`](Self::backward) that also records the adjoint of every neuron at the given
    /// times (any order, in `[0, t_end]`; at an event time the value just after the event), for
    /// plots such as the paper's Fig. 2D-E. `samples[q]` belongs to `times[q]`. The adjoints are
    /// those of hybrid-sensitivity.md §3: the paper's are `-λ_V/τ_mem` and `-λ_I/τ_syn`, and
    /// `λ_I,j(t)` is the derivative of the loss with respect to a current kick into neuron `j` at
    /// `t` (which is why eq. 2 and eq. 56 sample it at spike arrivals).
    pub fn backward_sampled(
        &self,
        ws: &RecurrentWorkspace,
        spike_cot: &[f64],
        probe_cot: &[f64],
        grad: &mut RecurrentGradient,
        times: &[f64],
        samples: &mut Vec<AdjointSample>,
    ) -> Result<(), LifError> {
        let k = self.params.kernel()?;
        let n = self.n;
        if ws.n != n {
            return Err(LifError::NoForwardPass);
        }
        let check = |what, expected: usize, found: usize| {
            (expected == found)
                .then_some(())
                .ok_or(LifError::WrongLength {
                    what,
                    layer: 0,
                    expected,
                    found,
                })
        };
        check("spike-time cotangents", ws.spikes.len(), spike_cot.len())?;
        check("probe cotangents", ws.probe_values.len(), probe_cot.len())?;
        grad.weights.resize(n * n, 0.0);
        grad.input_weights.resize(n * self.n_inputs, 0.0);
        check("gradient weights", n * n, grad.weights.len())?;
        let n_in = n * self.n_inputs;
        check("gradient input weights", n_in, grad.input_weights.len())?;
        if let Some(&bad) = times
            .iter()
            .find(|t| !(t.is_finite() && (0.0..=self.t_end).contains(*t)))
        {
            return Err(LifError::InvalidParameter {
                name: "adjoint sample time",
                value: bad,
                requirement: "finite and in [0, t_end]",
            });
        }
        // Sample times visited latest first.
        let mut order: Vec<usize> = (0..times.len()).collect();
        order.sort_by(|&a, &b| times[b].total_cmp(&times[a]));
        samples.clear();
        samples.resize(times.len(), AdjointSample::default());
        let mut next_sample = 0;
        let mut record = |down_to: f64, pos: f64, lv: &[f64], li: &[f64]| {
            while let Some(&q) = order.get(next_sample) {
                if times[q] < down_to {
                    break;
                }
                let d = k.decay(pos - times[q]);
                samples[q] = AdjointSample {
                    time: times[q],
                    lambda_v: lv.iter().map(|&v| d.mem * v).collect(),
                    lambda_i: li
                        .iter()
                        .zip(lv)
                        .map(|(&i, &v)| d.syn * i + d.cross * v)
                        .collect(),
                };
                next_sample += 1;
            }
        };
        let (mut lv, mut li) = (vec![0.0; n], vec![0.0; n]);
        let mut pos = self.t_end;
        for ev in ws.log.iter().rev() {
            let te = match *ev {
                Logged::Input(p) => ws.inputs[p as usize].time,
                Logged::Spike(s) => ws.spikes[s as usize].time,
                Logged::Probe(q) => ws.probes[q as usize].time,
            };
            record(te, pos, &lv, &li);
            if pos > te {
                let d = k.decay(pos - te);
                for m in 0..n {
                    li[m] = d.syn * li[m] + d.cross * lv[m];
                    lv[m] *= d.mem;
                }
            }
            pos = te;
            match *ev {
                Logged::Probe(q) => lv[ws.probes[q as usize].neuron] += probe_cot[q as usize],
                Logged::Input(p) => {
                    let src = ws.inputs[p as usize].source as usize;
                    for j in 0..n {
                        grad.input_weights[j * self.n_inputs + src] += li[j];
                    }
                }
                Logged::Spike(s) => {
                    let sp = &ws.spikes[s as usize];
                    let m = sp.neuron as usize;
                    let mut num = sp.i_syn * lv[m] - k.tau_mem * spike_cot[s as usize];
                    for j in (0..n).filter(|&j| j != m) {
                        grad.weights[j * n + m] += li[j];
                        num += self.weights[j * n + m] * (lv[j] - k.rho * li[j]);
                    }
                    let denom = sp.i_syn - k.threshold;
                    if denom == 0.0 {
                        let (layer, neuron, time) = (0, m, sp.time);
                        return Err(LifError::GrazingSpike {
                            layer,
                            neuron,
                            time,
                            vdot: 0.0,
                        });
                    }
                    lv[m] = num / denom;
                    if !lv[m].is_finite() {
                        return Err(LifError::non_finite("adjoint λ_V", 0, m, sp.time));
                    }
                }
            }
        }
        record(f64::NEG_INFINITY, pos, &lv, &li);
        Ok(())
    }
}

/// The adjoint of every neuron of a recurrent network at one time (hybrid-sensitivity.md §3).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdjointSample {
    /// The time (ms).
    pub time: f64,
    /// `λ_V` per neuron (`dL/dV_j(t)`; the paper's `λ_V` is `-λ_V/τ_mem`).
    pub lambda_v: Vec<f64>,
    /// `λ_I` per neuron (`dL/dI_j(t)`; the paper's `λ_I` is `-λ_I/τ_syn`).
    pub lambda_i: Vec<f64>,
}
