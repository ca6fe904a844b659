//! The classifier with a recurrent hidden population (`--recurrent`), on `lif-network`'s
//! event-driven engine: the input→hidden and hidden→output weights of [`SnnClassifier::net`]
//! plus hidden→hidden weights between every ordered pair of distinct hidden neurons, the same
//! losses (eq. (3) on the output neurons' first spikes, eq. (4) on the readout maxima), and the
//! engine's EventProp gradient mapped back to the parameter arrays
//! `[input→hidden, hidden→output, hidden→hidden]` (the layers' pre-major `[pre * n_post + post]`,
//! the order of the engine's synapses; the hidden→hidden weights post-major
//! `[post * hidden + pre]`).

use std::cell::RefCell;

use lif_network::engine::{
    Network, NetworkCotangents, NetworkWorkspace, Population, Projection, Source,
};
use lif_network::eventprop::transpose;
use lif_network::LayerKind;

use crate::config::LossConfig;
use crate::encoding::InputSpike;
use crate::error::{Result, TrainError};
use crate::model::SampleOutcome;
use crate::snn::SnnClassifier;

/// Per thread: the engine network of the last call (its structure is reused, only the weights
/// are copied in), the workspace and the cotangents.
#[derive(Default)]
struct Scratch {
    net: Option<Network>,
    ws: NetworkWorkspace,
    cot: NetworkCotangents,
    /// The engine's gradient (one vector per projection), reused.
    grad: Vec<Vec<f64>>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::default();
}

/// Makes `cached` the engine network of `model` with `recurrent`: rebuilt if its structure
/// differs, otherwise only the weights are copied in (in the synapse order of [`network`]).
fn refresh(cached: &mut Option<Network>, model: &SnnClassifier, recurrent: &[f64]) {
    let ff = &model.net;
    let (hidden, out) = (&ff.layers[0], &ff.layers[1]);
    let (n_in, h, n_out) = (ff.n_inputs, hidden.n_out, out.n_out);
    let same = cached.as_ref().is_some_and(|net| {
        net.n_inputs == n_in
            && net.t_end == ff.t_end
            && net.populations.len() == 2
            && net.populations[0].size == h
            && net.populations[0].params == ff.params
            && net.populations[1].size == n_out
            && net.populations[1].params == ff.params
            && net.populations[1].spiking == (out.kind == LayerKind::Spiking)
            && net.projections.len() == 3
            && net.projections[0].weights.len() == n_in * h
            && net.projections[1].weights.len() == h * (h - 1)
            && net.projections[2].weights.len() == h * n_out
    });
    let Some(net) = cached.as_mut().filter(|_| same) else {
        *cached = Some(network(model, recurrent));
        return;
    };
    // The layers' pre-major weights are in the synapse order of a dense projection.
    net.projections[0].weights.copy_from_slice(&hidden.weights);
    let w = &mut net.projections[1].weights;
    let mut s = 0;
    for pre in 0..h {
        for post in (0..h).filter(|&post| post != pre) {
            w[s] = recurrent[post * h + pre];
            s += 1;
        }
    }
    net.projections[2].weights.copy_from_slice(&out.weights);
}

/// The engine network of `model` with hidden→hidden weights `recurrent` (`[post * h + pre]`):
/// populations `"hidden"` and `"output"` (spiking, or a readout for the max-voltage loss),
/// projections input→hidden, hidden→hidden (no self-connections), hidden→output.
pub fn network(model: &SnnClassifier, recurrent: &[f64]) -> Network {
    let ff = &model.net;
    let (hidden, out) = (&ff.layers[0], &ff.layers[1]);
    let h = hidden.n_out;
    let output = match out.kind {
        LayerKind::Spiking => Population::new("output", out.n_out, ff.params),
        LayerKind::Readout => Population::readout("output", out.n_out, ff.params),
    };
    let mut net = Network::new(
        ff.n_inputs,
        vec![Population::new("hidden", h, ff.params), output],
        ff.t_end,
    );
    net.projections.push(Projection::dense(
        Source::Input,
        0,
        ff.n_inputs,
        h,
        &hidden.weights,
    ));
    let recurrent = transpose(recurrent, h, h); // post-major -> pre-major
    net.projections.push(Projection::dense(
        Source::Population(0),
        0,
        h,
        h,
        &recurrent,
    ));
    net.projections.push(Projection::dense(
        Source::Population(0),
        1,
        h,
        out.n_out,
        &out.weights,
    ));
    net
}

/// Loss, prediction, spike count and (if `gradient`) the gradient of one example.
pub(crate) fn outcome(
    model: &SnnClassifier,
    recurrent: &[f64],
    input: &[InputSpike],
    label: usize,
    gradient: bool,
) -> Result<SampleOutcome> {
    let h = model.net.layers[0].n_out;
    let n_out = model.net.layers[1].n_out;
    if label >= n_out {
        return Err(lif_network::LifError::LabelOutOfRange { label, n_out }.into());
    }
    SCRATCH.with(|s| {
        let Scratch { net, ws, cot, grad } = &mut *s.borrow_mut();
        refresh(net, model, recurrent);
        let Some(net) = net.as_ref() else {
            return Err(TrainError::InvalidOption {
                name: "recurrent",
                value: "network".into(),
                reason: "could not be built",
            });
        };
        net.forward(input, &[], ws)?;
        cot.reset_for(ws);
        let (loss, prediction, skip) = match model.loss {
            LossConfig::FirstSpike {
                tau0,
                tau1,
                alpha,
                silent_remedy_kappa: None,
                skip_silent_label,
            } => {
                let (loss, prediction) = first_spike(ws, cot, h, n_out, label, (tau0, tau1, alpha));
                (loss, prediction, skip_silent_label && loss == f64::INFINITY)
            }
            LossConfig::MaxVoltage => {
                let (loss, prediction) = max_voltage(ws, cot, h, n_out, label);
                (loss, prediction, false)
            }
            LossConfig::FirstSpike { .. } => {
                return Err(TrainError::InvalidOption {
                    name: "recurrent",
                    value: "with --silent-remedy".into(),
                    reason: "the recurrent network has no silent-label remedy",
                })
            }
        };
        let mut grads = vec![
            vec![0.0; model.net.layers[0].weights.len()],
            vec![0.0; model.net.layers[1].weights.len()],
            vec![0.0; recurrent.len()],
        ];
        if gradient && !skip {
            let same_shape = grad.len() == net.projections.len()
                && grad
                    .iter()
                    .zip(&net.projections)
                    .all(|(g, p)| g.len() == p.weights.len());
            if same_shape {
                grad.iter_mut().for_each(|g| g.fill(0.0));
            } else {
                *grad = net.zero_gradient();
            }
            net.backward(ws, cot, grad)?;
            let g = &*grad;
            grads[0].copy_from_slice(&g[0]);
            let mut s = 0;
            for pre in 0..h {
                for post in (0..h).filter(|&post| post != pre) {
                    grads[2][post * h + pre] = g[1][s];
                    s += 1;
                }
            }
            grads[1].copy_from_slice(&g[2]);
        }
        Ok(SampleOutcome {
            loss,
            gradient: grads,
            prediction,
            spikes: ws.spikes().len(),
        })
    })
}

/// Eq. (3) on the output neurons' first spikes (global indices `h..h + n_out`), with its
/// cotangents; a silent label neuron gives `+∞` (and the finite limit of the gradient).
fn first_spike(
    ws: &NetworkWorkspace,
    cot: &mut NetworkCotangents,
    h: usize,
    n_out: usize,
    label: usize,
    (tau0, tau1, alpha): (f64, f64, f64),
) -> (f64, Option<usize>) {
    let mut first: Vec<Option<usize>> = vec![None; n_out];
    for (k, s) in ws.spikes().iter().enumerate() {
        let j = s.neuron as usize;
        if j >= h && first[j - h].is_none() {
            first[j - h] = Some(k);
        }
    }
    let times: Vec<f64> = first
        .iter()
        .map(|f| f.map_or(f64::INFINITY, |k| ws.spikes()[k].time))
        .collect();
    let mut prediction: Option<usize> = None;
    for (j, &t) in times.iter().enumerate() {
        if t.is_finite() && prediction.is_none_or(|b| t < times[b]) {
            prediction = Some(j);
        }
    }
    let z: Vec<f64> = times.iter().map(|&t| -t / tau0).collect();
    let zmax = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let lse = if zmax.is_finite() {
        zmax + z.iter().map(|&v| (v - zmax).exp()).sum::<f64>().ln()
    } else {
        f64::NEG_INFINITY
    };
    let t_l = times[label];
    let loss = if t_l.is_finite() {
        t_l / tau0 + lse + alpha * (t_l / tau1).exp_m1()
    } else {
        f64::INFINITY
    };
    for j in 0..n_out {
        let Some(k) = first[j] else { continue };
        let mut dl_dt = -(z[j] - lse).exp() / tau0;
        if j == label {
            dl_dt += 1.0 / tau0 + alpha / tau1 * (t_l / tau1).exp();
        }
        cot.spike_times[k] = dl_dt;
    }
    (loss, prediction)
}

/// Eq. (4) on the readout maxima (global indices `h..h + n_out`), with its cotangents.
fn max_voltage(
    ws: &NetworkWorkspace,
    cot: &mut NetworkCotangents,
    h: usize,
    n_out: usize,
    label: usize,
) -> (f64, Option<usize>) {
    let m: Vec<f64> = ws.peaks()[h..h + n_out].iter().map(|p| p.value).collect();
    let mut best = 0;
    for j in 1..n_out {
        if m[j] > m[best] {
            best = j;
        }
    }
    let lse = m[best] + m.iter().map(|&v| (v - m[best]).exp()).sum::<f64>().ln();
    for j in 0..n_out {
        cot.peaks[h + j] = (m[j] - lse).exp() - if j == label { 1.0 } else { 0.0 };
    }
    (lse - m[label], Some(best))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ExperimentConfig;
    use crate::datasets::load_splits;
    use crate::init::WeightInit;
    use crate::model::Model;

    fn config(recurrent: WeightInit) -> ExperimentConfig {
        let mut c = ExperimentConfig::yin_yang();
        c.hidden = 12;
        c.init_recurrent = Some(recurrent);
        c.limits.train = Some(60);
        c.limits.validation = Some(1);
        c.limits.test = Some(1);
        c
    }

    // With zero recurrent weights the recurrent classifier is the feed-forward one: its sparse
    // network with a recurrent projection must give the layered network's loss and gradients
    // (the same engine through two layouts and two gradient mappings).
    #[test]
    fn zero_recurrent_weights_give_the_feed_forward_loss_and_gradient() {
        let c = config(WeightInit {
            mean: 0.0,
            std: 0.0,
        });
        let splits = load_splits(&c).unwrap();
        let rec = SnnClassifier::new(&c).unwrap();
        let ff = SnnClassifier {
            recurrent: None,
            ..rec.clone()
        };
        let mut compared = 0;
        for (input, &label) in splits.train.inputs.iter().zip(&splits.train.labels) {
            let (a, b) = (
                rec.loss_and_gradient(input, label).unwrap(),
                ff.loss_and_gradient(input, label).unwrap(),
            );
            assert_eq!(a.prediction, b.prediction);
            assert_eq!(a.spikes, b.spikes);
            if !b.loss.is_finite() {
                assert_eq!(a.loss, b.loss);
                continue;
            }
            assert!((a.loss - b.loss).abs() <= 1e-12 * b.loss.abs().max(1.0));
            for l in 0..2 {
                let scale = b.gradient[l].iter().fold(0.0f64, |m, x| m.max(x.abs()));
                for (x, y) in a.gradient[l].iter().zip(&b.gradient[l]) {
                    assert!(
                        (x - y).abs() <= 1e-9 * y.abs().max(1e-3 * scale),
                        "{x} vs {y}"
                    );
                }
            }
            compared += 1;
        }
        assert!(compared >= 3, "only {compared} samples with a finite loss");
    }

    // Central differences of the forward-only loss against the gradient, for weights of all
    // three arrays (the recurrent ones included), on samples with a finite loss.
    #[test]
    fn recurrent_gradient_matches_central_differences() {
        let c = config(WeightInit {
            mean: 0.0,
            std: 0.5,
        });
        let splits = load_splits(&c).unwrap();
        let model = SnnClassifier::new(&c).unwrap();
        assert!(model.recurrent.as_ref().unwrap().iter().any(|&w| w != 0.0));
        let mut checked = 0;
        for (input, &label) in splits.train.inputs.iter().zip(&splits.train.labels) {
            let o = model.loss_and_gradient(input, label).unwrap();
            if !o.loss.is_finite() {
                continue;
            }
            for (l, len) in model.param_lengths().into_iter().enumerate() {
                for i in (0..len).step_by(7) {
                    let h = 1e-6;
                    let loss_at = |delta: f64| {
                        let mut m = model.clone();
                        m.params_mut()[l][i] += delta;
                        m.loss_and_prediction(input, label).unwrap().loss
                    };
                    let fd = (loss_at(h) - loss_at(-h)) / (2.0 * h);
                    let g = o.gradient[l][i];
                    let diagonal = l == 2 && i % (c.hidden + 1) == 0;
                    if diagonal {
                        assert_eq!(g, 0.0, "self-connection {i} is not a synapse");
                        continue;
                    }
                    assert!(
                        (g - fd).abs() <= 1e-5 * (1.0 + g.abs()),
                        "array {l} weight {i}: gradient {g}, central difference {fd}"
                    );
                }
            }
            checked += 1;
            if checked == 3 {
                break;
            }
        }
        assert_eq!(checked, 3, "too few samples with a finite loss");
    }

    // The per-thread network reused with other weights must equal the one built from them.
    #[test]
    fn reused_network_takes_the_new_weights() {
        let c = config(WeightInit {
            mean: 0.0,
            std: 0.5,
        });
        let a = SnnClassifier::new(&c).unwrap();
        let mut c2 = c.clone();
        c2.train.seed += 1;
        let b = SnnClassifier::new(&c2).unwrap();
        let (ra, rb) = (a.recurrent.clone().unwrap(), b.recurrent.clone().unwrap());
        assert_ne!(ra, rb);
        let mut cached = Some(network(&a, &ra));
        refresh(&mut cached, &b, &rb);
        assert_eq!(cached.unwrap(), network(&b, &rb));
    }

    #[test]
    fn recurrent_weights_survive_saving_and_loading() {
        let c = config(WeightInit {
            mean: 0.0,
            std: 0.5,
        });
        let model = SnnClassifier::new(&c).unwrap();
        let saved = model.to_saved(&c);
        assert_eq!(saved.layers.len(), 3);
        let back = SnnClassifier::from_saved(&saved, std::path::Path::new("w")).unwrap();
        assert_eq!(back.recurrent, model.recurrent);
        let mut short = saved.clone();
        short.layers.pop();
        assert!(SnnClassifier::from_saved(&short, std::path::Path::new("w")).is_err());
    }
}
