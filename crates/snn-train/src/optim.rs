//! Adam (Kingma & Ba 2015, Algorithm 1) with the paper's per-epoch learning-rate decay
//! (Table 3: β₁ 0.9, β₂ 0.999, ε 1e-8, η 5e-3, η × 0.95 per epoch). The paper's code applies the
//! decay after every epoch from the second on, so epochs 1 and 2 both use η and epoch `e` uses
//! `η · 0.95^(e-2)`; [`AdamOptions::lr_decay_start`] sets that first decaying epoch.
//!
//! [`AdamOptions::fixed_bias_correction`] (opt-in) divides the moments by the constants
//! `1 - β₁`, `1 - β₂` instead of `1 - βᵗ`, as one published version of the paper's code does
//! (`eventprop/optimizer.py`): the same first step, then steps up to about twice Adam's within the
//! first ~50 updates and, once `1 - β₂ᵗ → 1`, `√(1 - β₂)/(1 - β₁) ≈ 0.32` times Adam's.

use serde::{Deserialize, Serialize};

use crate::error::{Result, TrainError};

mod step;
use step::{by_corrections, update_layer, update_layer_and_clear, StepConstants};

/// Adam's hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamOptions {
    /// Learning rate η at the first epoch (default 5e-3, Table 3).
    pub lr: f64,
    /// Factor applied to η after every epoch (default 0.95, Table 3).
    pub lr_decay: f64,
    /// Decay of the first-moment estimate β₁ (default 0.9).
    pub beta1: f64,
    /// Decay of the second-moment estimate β₂ (default 0.999).
    pub beta2: f64,
    /// Denominator offset ε (default 1e-8).
    pub epsilon: f64,
    /// The decay is applied after every epoch from this one on (1-based): epoch `e` uses
    /// `lr · lr_decay^max(0, e - lr_decay_start)`. Default 2, as the paper's code (no decay
    /// after the first epoch); 1 decays after every epoch (this crate's behaviour before
    /// 2026-11-30, and the value assumed for configurations that do not give it).
    #[serde(default = "first_epoch")]
    pub lr_decay_start: usize,
    /// Bias-correct the moments with the constants `1 - β₁`, `1 - β₂` instead of Kingma & Ba's
    /// `1 - β₁ᵗ`, `1 - β₂ᵗ` at step `t` [default: false]. One published version of the paper's
    /// code (`eventprop/optimizer.py` of the iteration-based loop) does this; the later ones
    /// use `1 - βᵗ`.
    #[serde(default)]
    pub fixed_bias_correction: bool,
}

fn first_epoch() -> usize {
    1
}

impl Default for AdamOptions {
    fn default() -> Self {
        Self {
            lr: 5e-3,
            lr_decay: 0.95,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            lr_decay_start: 2,
            fixed_bias_correction: false,
        }
    }
}

impl AdamOptions {
    /// Checks every value: `lr >= 0`, `0 < lr_decay`, `0 <= β < 1`, `ε > 0`, all finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |name, value: f64, reason| {
            Err(TrainError::InvalidOption {
                name,
                value: value.to_string(),
                reason,
            })
        };
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad("lr", self.lr, "must be a finite number >= 0");
        }
        if !(self.lr_decay.is_finite() && self.lr_decay > 0.0) {
            return bad("lr-decay", self.lr_decay, "must be a finite number > 0");
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return bad("beta1", self.beta1, "must be in [0, 1)");
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return bad("beta2", self.beta2, "must be in [0, 1)");
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return bad("epsilon", self.epsilon, "must be a finite number > 0");
        }
        if self.lr_decay_start == 0 {
            return Err(TrainError::InvalidOption {
                name: "lr-decay-start",
                value: "0".into(),
                reason: "epochs count from 1",
            });
        }
        Ok(())
    }

    /// The learning rate of `epoch` (1-based): `lr · lr_decay^max(0, epoch - lr_decay_start)`.
    pub fn learning_rate(&self, epoch: usize) -> f64 {
        let decays = epoch.saturating_sub(self.lr_decay_start);
        self.lr
            * self
                .lr_decay
                .powi(i32::try_from(decays).unwrap_or(i32::MAX))
    }
}

/// Adam's step count and moment estimates, which a checkpoint must keep for a resumed run to
/// continue bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamState {
    /// Updates made so far.
    pub step: i32,
    /// First-moment estimates, one array per parameter array.
    pub m: Vec<Vec<f64>>,
    /// Second-moment estimates.
    pub v: Vec<Vec<f64>>,
}

/// Adam state for a list of parameter arrays (one per layer).
#[derive(Clone, Debug)]
pub struct Adam {
    options: AdamOptions,
    lr: f64,
    step: i32,
    m: Vec<Vec<f64>>,
    v: Vec<Vec<f64>>,
}

impl Adam {
    /// Zero moments for arrays of the given lengths.
    pub fn new(options: AdamOptions, lengths: &[usize]) -> Result<Self> {
        options.validate()?;
        let zeros = |&n: &usize| -> Result<Vec<f64>> {
            let mut z = crate::error::with_capacity("Adam moments", n)?;
            z.resize(n, 0.0);
            Ok(z)
        };
        Ok(Self {
            options,
            lr: options.lr,
            step: 0,
            m: lengths.iter().map(zeros).collect::<Result<_>>()?,
            v: lengths.iter().map(zeros).collect::<Result<_>>()?,
        })
    }

    /// Current learning rate (see [`Adam::start_epoch`]).
    pub fn learning_rate(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate of `epoch` (1-based), [`AdamOptions::learning_rate`].
    pub fn start_epoch(&mut self, epoch: usize) {
        self.lr = self.options.learning_rate(epoch);
    }

    /// The step count and moments.
    pub fn state(&self) -> AdamState {
        AdamState {
            step: self.step,
            m: self.m.clone(),
            v: self.v.clone(),
        }
    }

    /// Adam with `options` continuing from `state`, whose arrays must have the lengths given.
    pub fn restore(options: AdamOptions, lengths: &[usize], state: AdamState) -> Result<Self> {
        let mut adam = Self::new(options, lengths)?;
        for (what, arrays) in [
            ("Adam first moments", &state.m),
            ("Adam second moments", &state.v),
        ] {
            adam.check_shapes(what, arrays.iter().map(Vec::len))?;
            if let Some(x) = arrays.iter().flatten().find(|x| !x.is_finite()) {
                return Err(TrainError::NonFinite {
                    what,
                    value: *x,
                    sample: 0,
                    epoch: None,
                });
            }
        }
        adam.step = state.step;
        adam.m = state.m;
        adam.v = state.v;
        Ok(adam)
    }

    /// Number of updates made so far.
    pub fn steps(&self) -> i32 {
        self.step
    }

    /// One Adam update of `params` with gradient `grads`:
    /// `m ← β₁m + (1-β₁)g`, `v ← β₂v + (1-β₂)g²`, `θ ← θ - η m̂ / (√v̂ + ε)` with the bias
    /// corrections `m̂ = m / (1-β₁ᵗ)`, `v̂ = v / (1-β₂ᵗ)` (`m / (1-β₁)`, `v / (1-β₂)` with
    /// [`AdamOptions::fixed_bias_correction`]).
    ///
    /// `params` and `grads` hold one array per layer, of the lengths given to [`Adam::new`].
    pub fn update<P, G>(&mut self, params: &mut [P], grads: &[G]) -> Result<()>
    where
        P: AsMut<[f64]>,
        G: AsRef<[f64]>,
    {
        self.check_shapes("parameters", params.iter_mut().map(|p| p.as_mut().len()))?;
        self.check_shapes("gradients", grads.iter().map(|g| g.as_ref().len()))?;
        let k = self.next_step();
        for (layer, grad) in grads.iter().enumerate() {
            let (theta, m, v) = (
                params[layer].as_mut(),
                &mut self.m[layer],
                &mut self.v[layer],
            );
            by_corrections!(k, update_layer(theta, m, v, grad.as_ref()));
        }
        Ok(())
    }

    /// [`Adam::update`] with the gradient `scale · sums` (`sums` itself when `scale` is `None`),
    /// setting every entry of `sums` to `+0.0` as it is read: the training loop's batch sum,
    /// ready for the next minibatch without a pass of its own. The same bits as scaling `sums`
    /// first and calling [`Adam::update`].
    pub(crate) fn update_and_clear<P>(
        &mut self,
        params: &mut [P],
        sums: &mut [Vec<f64>],
        scale: Option<f64>,
    ) -> Result<()>
    where
        P: AsMut<[f64]>,
    {
        self.check_shapes("parameters", params.iter_mut().map(|p| p.as_mut().len()))?;
        self.check_shapes("gradients", sums.iter().map(Vec::len))?;
        let k = self.next_step();
        for (layer, sum) in sums.iter_mut().enumerate() {
            let (theta, m, v) = (
                params[layer].as_mut(),
                &mut self.m[layer],
                &mut self.v[layer],
            );
            by_corrections!(k, update_layer_and_clear(theta, m, v, sum, scale));
        }
        Ok(())
    }

    /// Counts an update and returns its constants.
    fn next_step(&mut self) -> StepConstants {
        self.step = self.step.saturating_add(1);
        let AdamOptions {
            beta1,
            beta2,
            epsilon,
            fixed_bias_correction,
            ..
        } = self.options;
        let (correction1, correction2) = if fixed_bias_correction {
            (1.0 - beta1, 1.0 - beta2)
        } else {
            (1.0 - beta1.powi(self.step), 1.0 - beta2.powi(self.step))
        };
        StepConstants {
            beta1,
            beta2,
            one_minus_beta1: 1.0 - beta1,
            one_minus_beta2: 1.0 - beta2,
            correction1,
            correction2,
            lr: self.lr,
            epsilon,
        }
    }

    fn check_shapes(
        &self,
        what: &'static str,
        lengths: impl ExactSizeIterator<Item = usize>,
    ) -> Result<()> {
        if lengths.len() != self.m.len() {
            return Err(TrainError::ShapeMismatch {
                what,
                expected: self.m.len(),
                found: lengths.len(),
            });
        }
        for (found, m) in lengths.zip(&self.m) {
            if found != m.len() {
                return Err(TrainError::ShapeMismatch {
                    what,
                    expected: m.len(),
                    found,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two steps by hand (50-digit decimal arithmetic, independent of this code):
    // θ0 = 1, η = 0.1, g1 = 2, g2 = -1.
    // t=1: m = 0.2, v = 0.004, m̂ = 2, v̂ = 4, θ1 = 1 - 0.1·2/(2 + 1e-8) = 0.9000000005.
    // t=2: m = 0.08, v = 0.004996, m̂ = 0.08/0.19, v̂ = 0.004996/0.001999,
    //      θ2 = 0.873366296702431357842...
    #[test]
    fn two_steps_match_hand_computation() {
        let options = AdamOptions {
            lr: 0.1,
            ..AdamOptions::default()
        };
        let mut adam = Adam::new(options, &[1]).unwrap();
        let mut theta = vec![vec![1.0]];
        adam.update(&mut theta, &[vec![2.0]]).unwrap();
        assert!(
            (theta[0][0] - 0.900_000_000_5).abs() < 1e-15,
            "{}",
            theta[0][0]
        );
        adam.update(&mut theta, &[vec![-1.0]]).unwrap();
        assert!(
            (theta[0][0] - 0.873_366_296_702_431_4).abs() < 1e-15,
            "{}",
            theta[0][0]
        );
        assert_eq!(adam.steps(), 2);
    }

    // The same two steps with the constant corrections (50-digit decimal arithmetic):
    // t=1 as above (1 - β¹ = 1 - β); t=2: m̂ = 0.08/0.1, v̂ = 0.004996/0.001,
    // θ2 = 0.864208593592846087926...
    #[test]
    fn fixed_bias_correction_two_steps_match_hand_computation() {
        let options = AdamOptions {
            lr: 0.1,
            fixed_bias_correction: true,
            ..AdamOptions::default()
        };
        let mut adam = Adam::new(options, &[1]).unwrap();
        let mut theta = vec![vec![1.0]];
        adam.update(&mut theta, &[vec![2.0]]).unwrap();
        assert!((theta[0][0] - 0.900_000_000_5).abs() < 1e-15);
        adam.update(&mut theta, &[vec![-1.0]]).unwrap();
        assert!(
            (theta[0][0] - 0.864_208_593_592_846_1).abs() < 1e-15,
            "{}",
            theta[0][0]
        );
    }

    // Constant gradient g: m = g(1-β₁ᵗ), v = g²(1-β₂ᵗ) in closed form, so with the constant
    // corrections step t moves by η (1-β₁ᵗ)/(1-β₁) / √((1-β₂ᵗ)/(1-β₂)) (+ε); at t = 1000,
    // η = 0.1, g = 0.5 (50-digit decimals): 0.0397682827097026619805..., 0.40 of Adam's η.
    #[test]
    fn fixed_bias_correction_shrinks_late_steps_as_the_closed_form() {
        let options = AdamOptions {
            lr: 0.1,
            fixed_bias_correction: true,
            ..AdamOptions::default()
        };
        let mut adam = Adam::new(options, &[1]).unwrap();
        let mut theta = vec![vec![0.0]];
        let mut before = 0.0;
        for _ in 0..1000 {
            before = theta[0][0];
            adam.update(&mut theta, &[vec![0.5]]).unwrap();
        }
        let step = before - theta[0][0];
        assert!((step - 0.039_768_282_709_702_66).abs() < 1e-14, "{step}");
    }

    // Adam's first step moves every parameter by η·sign(g) (up to ε), whatever |g|.
    #[test]
    fn first_step_moves_by_learning_rate_times_sign() {
        let mut adam = Adam::new(AdamOptions::default(), &[3, 1]).unwrap();
        let mut theta = vec![vec![0.0; 3], vec![1.0]];
        adam.update(&mut theta, &[vec![1e3, -1e-3, 0.0], vec![-7.0]])
            .unwrap();
        assert!((theta[0][0] + 5e-3).abs() < 1e-9);
        assert!((theta[0][1] - 5e-3).abs() < 1e-7); // ε/|g| = 1e-5 relative
        assert_eq!(theta[0][2], 0.0);
        assert!((theta[1][0] - 1.005).abs() < 1e-9);
    }

    // The paper's code: epochs 1 and 2 at η, then ×0.95 per epoch; start 1 decays at once.
    #[test]
    fn learning_rate_decays_per_epoch_from_the_start_epoch() {
        let mut adam = Adam::new(AdamOptions::default(), &[1]).unwrap();
        let rates: Vec<f64> = (1..=4)
            .map(|e| {
                adam.start_epoch(e);
                adam.learning_rate()
            })
            .collect();
        assert_eq!(rates[0], 5e-3);
        assert_eq!(rates[1], 5e-3);
        assert!((rates[2] - 5e-3 * 0.95).abs() < 1e-18);
        assert!((rates[3] - 5e-3 * 0.95 * 0.95).abs() < 1e-18);
        let every = AdamOptions {
            lr_decay_start: 1,
            ..AdamOptions::default()
        };
        assert_eq!(every.learning_rate(1), 5e-3);
        assert!((every.learning_rate(2) - 5e-3 * 0.95).abs() < 1e-18);
    }

    #[test]
    fn restored_state_continues_like_the_original() {
        let options = AdamOptions::default();
        let mut a = Adam::new(options, &[2]).unwrap();
        let mut theta = vec![vec![1.0, -1.0]];
        a.update(&mut theta, &[vec![0.3, -2.0]]).unwrap();
        let mut b = Adam::restore(options, &[2], a.state()).unwrap();
        let mut theta_b = theta.clone();
        a.update(&mut theta, &[vec![-0.1, 0.5]]).unwrap();
        b.update(&mut theta_b, &[vec![-0.1, 0.5]]).unwrap();
        assert_eq!(theta, theta_b);
        assert_eq!(b.steps(), 2);
        let mut wrong = a.state();
        wrong.v[0].pop();
        assert!(Adam::restore(options, &[2], wrong).is_err());
    }

    #[test]
    fn invalid_options_are_rejected_by_name() {
        for (options, name) in [
            (
                AdamOptions {
                    lr: -1e-3,
                    ..Default::default()
                },
                "lr",
            ),
            (
                AdamOptions {
                    lr: f64::NAN,
                    ..Default::default()
                },
                "lr",
            ),
            (
                AdamOptions {
                    lr_decay: 0.0,
                    ..Default::default()
                },
                "lr-decay",
            ),
            (
                AdamOptions {
                    beta1: 1.0,
                    ..Default::default()
                },
                "beta1",
            ),
            (
                AdamOptions {
                    beta2: -0.1,
                    ..Default::default()
                },
                "beta2",
            ),
            (
                AdamOptions {
                    epsilon: 0.0,
                    ..Default::default()
                },
                "epsilon",
            ),
        ] {
            match Adam::new(options, &[1]) {
                Err(TrainError::InvalidOption { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{options:?}: expected InvalidOption, got {other:?}"),
            }
        }
    }

    #[test]
    fn mismatched_gradient_shape_is_an_error() {
        let mut adam = Adam::new(AdamOptions::default(), &[2]).unwrap();
        let mut theta = vec![vec![0.0; 2]];
        assert!(matches!(
            adam.update(&mut theta, &[vec![1.0; 3]]),
            Err(TrainError::ShapeMismatch {
                expected: 2,
                found: 3,
                ..
            })
        ));
    }
}
