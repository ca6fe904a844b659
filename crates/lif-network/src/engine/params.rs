//! Neuron parameters of the paper's Table 1 (values of Table 3) and the constants derived from them.

use crate::LifError;

/// Parameters shared by every neuron (the paper's Table 1; defaults from Table 3).
///
/// Time is in milliseconds, voltage and current in units where the threshold is `threshold`.
/// Between events `τ_mem V̇ = -V + I` and `τ_syn İ = -I`; a neuron spikes when `V` reaches
/// `threshold` from below and is reset to `V = 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Membrane time constant `τ_mem` in ms (Table 3: 20 ms). Must be finite and positive.
    pub tau_mem: f64,
    /// Synaptic time constant `τ_syn` in ms (Table 3: 5 ms). Must be finite and positive; it may
    /// equal `tau_mem` (the closed form then has the degenerate shape `V = (V0 + I0 t/τ) e^{-t/τ}`).
    pub tau_syn: f64,
    /// Firing threshold `ϑ` (Table 3: 1). Must be finite and positive.
    pub threshold: f64,
}

impl Default for LifParams {
    /// Table 3 of the paper: `τ_mem = 20 ms`, `τ_syn = 5 ms`, `ϑ = 1`.
    fn default() -> Self {
        Self {
            tau_mem: 20.0,
            tau_syn: 5.0,
            threshold: 1.0,
        }
    }
}

impl LifParams {
    /// Checks that every parameter is finite and positive.
    pub fn validate(&self) -> Result<(), LifError> {
        positive("tau_mem", self.tau_mem)?;
        positive("tau_syn", self.tau_syn)?;
        positive("threshold", self.threshold)
    }

    /// The constants of the closed-form solution (validates first).
    pub(crate) fn kernel(&self) -> Result<Kernel, LifError> {
        self.validate()?;
        Ok(Kernel::new(*self))
    }
}

/// Checks that `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<(), LifError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LifError::InvalidParameter {
            name,
            value,
            requirement: "finite and > 0",
        })
    }
}

/// Constants of the linear flow of Table 1 used by the closed form (see `closed_form.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Kernel {
    /// `τ_mem`.
    pub tau_mem: f64,
    /// `1/τ_mem`.
    pub inv_tau_mem: f64,
    /// `1/τ_syn`.
    pub inv_tau_syn: f64,
    /// `δ = 1/τ_syn - 1/τ_mem`, the rate of `e^{-t/τ_syn} / e^{-t/τ_mem}`; zero when degenerate.
    pub delta: f64,
    /// `τ_syn`, the time scale of the membrane maximum (`r` in `closed_form::maximum`).
    pub tau_syn: f64,
    /// `ρ = τ_mem/τ_syn`, the weight of `λ_I` in the error signal `λ_V - ρ λ_I`.
    pub rho: f64,
    /// Threshold `ϑ`.
    pub threshold: f64,
    /// `κ0 = V_max / I0` after a reset (`V0 = 0`): `(τs/τm)^{τm/(τm-τs)}`, or `e^{-1}` when
    /// `τm = τs` (see `closed_form::max_upper_bound`).
    pub kappa0: f64,
    /// `t*_0 = τm τs ln(τm/τs)/(τm - τs)` (`τ` when equal): the time of that maximum after a reset.
    pub t_max_reset: f64,
    /// `1 - e^{-t*_0/τm}`, that time as `u` of `closed_form::Kernel::crossing_root_pow`.
    pub u_max_reset: f64,
    /// `n` when `τm = n τs` for an integer `2 <= n <= 8` (Table 3: `n = 4`), else 0: then
    /// `e^{-t/τs} = (e^{-t/τm})^n` and the sweeps' decays take one transcendental call
    /// (`closed_form::Kernel::decay_swept`).
    pub pow: u32,
    /// For `pow = n`: `a_k = (-1)^k C(n, k)/(1 - n)` for `k = 2..=n` (zeros up to `k = 8`), the
    /// coefficients of `K(Δ) = u + u² Σ_k a_k u^{k-2}` in `u = 1 - e^{-Δ/τm}`.
    pub pow_coeffs: [f64; 7],
    /// The chords of the maximum's profile, `(α_k, β_k)` per chord (see
    /// `closed_form::max_chord_bound`).
    pub chords: [[f64; 2]; super::closed_form::CHORDS],
}

impl Kernel {
    fn new(p: LifParams) -> Self {
        let inv_tau_mem = 1.0 / p.tau_mem;
        let inv_tau_syn = 1.0 / p.tau_syn;
        // Exactly zero for tau_mem == tau_syn, so the degenerate branch is taken bit-exactly.
        let delta = if p.tau_mem == p.tau_syn {
            0.0
        } else {
            (p.tau_mem - p.tau_syn) / (p.tau_mem * p.tau_syn)
        };
        let mut k = Self {
            tau_mem: p.tau_mem,
            inv_tau_mem,
            inv_tau_syn,
            delta,
            tau_syn: p.tau_syn,
            rho: p.tau_mem / p.tau_syn,
            threshold: p.threshold,
            kappa0: 1.0,
            t_max_reset: 0.0,
            u_max_reset: 0.0,
            pow: 0,
            pow_coeffs: [0.0; 7],
            chords: [[1.0, 0.0]; super::closed_form::CHORDS],
        };
        (k.t_max_reset, k.kappa0) = k.maximum(0.0, 1.0).unwrap_or((f64::INFINITY, 1.0));
        k.u_max_reset = -(-k.t_max_reset * inv_tau_mem).exp_m1();
        k.chords = k.max_chords();
        let ratio = p.tau_mem / p.tau_syn;
        if ratio == ratio.round() && (2.0..=8.0).contains(&ratio) {
            k.pow = ratio as u32;
            // C(n, k) by the recurrence C(n, k) = C(n, k - 1) (n - k + 1)/k (exact integers).
            let mut binom = ratio;
            for kk in 2..=k.pow {
                binom = binom * f64::from(k.pow - kk + 1) / f64::from(kk);
                let sign = if kk % 2 == 0 { 1.0 } else { -1.0 };
                k.pow_coeffs[kk as usize - 2] = sign * binom / (1.0 - ratio);
            }
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_table_3() {
        let p = LifParams::default();
        assert_eq!((p.tau_mem, p.tau_syn, p.threshold), (20.0, 5.0, 1.0));
        assert!(p.validate().is_ok());
    }

    #[test]
    fn non_positive_or_nan_parameters_are_rejected_with_their_value() {
        for (p, name) in [
            (
                LifParams {
                    tau_mem: 0.0,
                    ..Default::default()
                },
                "tau_mem",
            ),
            (
                LifParams {
                    tau_syn: f64::NAN,
                    ..Default::default()
                },
                "tau_syn",
            ),
            (
                LifParams {
                    threshold: -1.0,
                    ..Default::default()
                },
                "threshold",
            ),
        ] {
            match p.validate() {
                Err(LifError::InvalidParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("expected InvalidParameter for {name}, got {other:?}"),
            }
        }
    }
}
