//! Exponentials shared per event, for the lazy per-neuron closed form.
//!
//! Every population keeps the exponentials of the *event* time relative to an epoch `T`,
//! `Em(t) = e^{-(t-T)/τm}`, `Es(t) = e^{-(t-T)/τs}` (a [`Clock`]), computed once per event
//! time and shared by all neurons the event touches (and by populations with equal time
//! constants). The passes keep each neuron's state as coefficients of these functions
//! (`coeffs.rs`), so touching a neuron needs no transcendental call and no stored time. The
//! population sweeps (`sweep.rs`) use [`PopConsts::decay`] over intervals instead.
//!
//! The cross kernel is `K(Δ) = c (e^{-Δ/τs} - e^{-Δ/τm})` with `c = τs/(τs - τm)` when the time
//! constants are well apart (`|c| <= 4`, absolute error `≈ |c| ε` per step), `(Δ/τm) e^{-Δ/τm}`
//! when they are equal, and the exact `expm1` form when they are close, where `c` would cancel
//! badly.
//!
//! Precision: `Em(t)` carries the rounding of `(t - T)/τ`, a relative error of order
//! `ε |t - T|/τ`, i.e. a shift of `t` by about one ulp of `t - T`; the epoch is moved (all
//! states re-expressed, `O(N)`) before `|t - T|` exceeds [`PopConsts::span`], so nothing
//! overflows.

use super::closed_form::Decay;
use super::params::{Kernel, LifParams};
use crate::LifError;

/// Largest `|t - T|/τ` before the epoch moves (`e^{400}` ≈ 5e173, far from overflow).
pub(crate) const MAX_EXPONENT: f64 = 400.0;

/// How a population evaluates the cross kernel `K(Δ)`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cross {
    /// `K = c (syn - mem)`.
    Split(f64),
    /// `τm = τs`: `K = mem Δ/τm`.
    Equal,
    /// `τm ≈ τs`: `Kernel::decay(Δ)`.
    Exact,
}

/// The constants of one population.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PopConsts {
    /// The parameters `k` was built from.
    pub params: LifParams,
    pub k: Kernel,
    pub cross: Cross,
    /// Absolute refractory period (0 = none).
    pub t_ref: f64,
    /// `ϑ (1 - 8 ε)`: below this the upper bound of the maximum excludes a crossing.
    pub thr_bound: f64,
    /// The delivery loop's gate (`forward_delivery.rs`), the single-chord bound
    /// `κ0 I + (1 - κ0) max(V, 0) >= thr_bound` divided by `1 - κ0`: `I = C Es` enters as
    /// `C (Es gate_i)` with `gate_i = κ0/(1 - κ0)`, compared with `gate_thr`, which is
    /// `thr_bound/(1 - κ0)` lowered by `8 ε` against the rounding of the rearrangement.
    pub gate_i: f64,
    /// See [`gate_i`](Self::gate_i).
    pub gate_thr: f64,
    /// `gate_thr/thr_bound` raised by `4 ε`: `V >= thr_bound` implies `V gate_v >= gate_thr`
    /// after rounding, so that the delivery loop's first pass tests both halves of the gate
    /// with one comparison (a gate at least as wide, `forward_delivery.rs`).
    pub gate_v: f64,
    /// LIF (`true`) or non-spiking readout.
    pub spiking: bool,
    /// Spiking, with maxima tracked until the first spike.
    pub silent: bool,
    /// Spiking, each neuron stopped after its first spike (`Pop::first_spike_only`).
    pub first_only: bool,
}

impl PopConsts {
    pub fn new(pop: &super::model::Pop<'_>) -> Result<Self, LifError> {
        let params = pop.params;
        let k = params.kernel()?;
        let cross = if params.tau_mem == params.tau_syn {
            Cross::Equal
        } else {
            let c = params.tau_syn / (params.tau_syn - params.tau_mem);
            if c.abs() <= 4.0 {
                Cross::Split(c)
            } else {
                Cross::Exact
            }
        };
        let thr_bound = k.threshold * (1.0 - 8.0 * f64::EPSILON);
        let rest = 1.0 - k.kappa0;
        Ok(Self {
            params,
            k,
            cross,
            t_ref: pop.t_ref,
            thr_bound,
            gate_i: k.kappa0 / rest,
            gate_thr: thr_bound / rest * (1.0 - 8.0 * f64::EPSILON),
            gate_v: thr_bound / rest * (1.0 - 8.0 * f64::EPSILON) / thr_bound
                * (1.0 + 4.0 * f64::EPSILON),
            spiking: pop.spiking,
            silent: pop.silent_maxima && pop.spiking,
            first_only: pop.first_spike_only && pop.spiking,
        })
    }

    /// Whether these are the constants of `pop` (as [`new`](Self::new) would build them),
    /// so that a workspace keeps them from one forward pass to the next.
    pub fn built_from(&self, pop: &super::model::Pop<'_>) -> bool {
        self.params == pop.params
            && self.t_ref == pop.t_ref
            && self.spiking == pop.spiking
            && self.silent == (pop.silent_maxima && pop.spiking)
            && self.first_only == (pop.first_spike_only && pop.spiking)
    }

    /// The shared exponentials at time `t` for epoch `epoch`, and the cross solution `G(t)`
    /// (`coeffs.rs`).
    #[inline]
    pub fn clock(&self, t: f64, epoch: f64) -> Clock {
        let s = t - epoch;
        let em = (-s * self.k.inv_tau_mem).exp();
        let es = (-s * self.k.inv_tau_syn).exp();
        let (em_inv, es_inv) = (1.0 / em, 1.0 / es);
        // G with G(epoch) = 0 (Equal, Exact) or c (Split), and g_w = -G / (Em Es).
        let (g, g_w) = match self.cross {
            Cross::Split(c) => (c * es, -c * em_inv),
            Cross::Equal | Cross::Exact => {
                let f = self.k.phi_ratio(s);
                (far_product(em, f), -f * es_inv)
            }
        };
        // The backward pass's mirror image, `G_b` with `G_b(epoch) = -c` or 0 (`backward.rs`).
        let g_back = match self.cross {
            Cross::Split(c) => -c * em_inv,
            Cross::Equal | Cross::Exact => far_product(em_inv, self.k.phi_ratio(-s)),
        };
        Clock {
            t,
            em,
            es,
            em_inv,
            es_inv,
            g,
            g_w,
            g_back,
        }
    }

    /// `G` at the epoch itself: `c` for [`Cross::Split`], else 0.
    #[inline]
    pub fn g_at_epoch(&self) -> f64 {
        match self.cross {
            Cross::Split(c) => c,
            Cross::Equal | Cross::Exact => 0.0,
        }
    }

    /// `G_b` at the epoch itself: `-c` for [`Cross::Split`], else 0.
    #[inline]
    pub fn g_back_at_epoch(&self) -> f64 {
        -self.g_at_epoch()
    }

    /// The longest `|t - T|` for which the coefficients of both passes (`coeffs.rs`) keep their
    /// precision: `MAX_EXPONENT` times the shorter time constant when `|c| <= 4`; `2 τm` for
    /// equal or close time constants, where `V = A Em + C G` (and `λ_I = b/Es + a G_b`) cancels
    /// by a factor that grows with `|t - T|/τm` (at most about `2 (e^{1/2} - 1)/(1/2) ≈ 2.6`).
    pub fn span(&self) -> f64 {
        match self.cross {
            Cross::Split(_) => MAX_EXPONENT / self.k.inv_tau_mem.max(self.k.inv_tau_syn),
            Cross::Equal | Cross::Exact => 2.0 * self.k.tau_mem,
        }
    }

    /// `Decay` over `[earlier, later]` from the exponentials at both ends: `em_ratio` is
    /// `Em(later)/Em(earlier)`, `es_ratio` likewise, `dt = later - earlier`.
    #[inline]
    pub fn decay(&self, em_ratio: f64, es_ratio: f64, dt: f64) -> Decay {
        if dt == 0.0 {
            return Decay {
                mem: 1.0,
                syn: 1.0,
                cross: 0.0,
            };
        }
        match self.cross {
            Cross::Split(c) => Decay {
                mem: em_ratio,
                syn: es_ratio,
                cross: c * (es_ratio - em_ratio),
            },
            Cross::Equal => Decay {
                mem: em_ratio,
                syn: es_ratio,
                cross: em_ratio * dt * self.k.inv_tau_mem,
            },
            Cross::Exact => self.k.decay(dt),
        }
    }
}

/// `e * f` for a decaying exponential `e` and a `φ` factor `f`, 0 where `e` has underflowed.
///
/// Within the span both are finite. A clock far beyond it (the epoch moved across a silence of
/// thousands of time constants, where the old epoch's clock is read once to re-express the
/// states) can have `f = (1 - e^{-δ s})/(δ τm)` overflow for `τs > τm` (`δ s` beyond 709, i.e.
/// `|s|` beyond 2800 τm for close time constants) while `e = e^{-|s|/τm}` is 0: the product,
/// `(Em - Es)/(δ τm)` (or its backward mirror), is 0 to the last bit there, not `0 · ∞ = NaN`.
#[inline(always)]
fn far_product(e: f64, f: f64) -> f64 {
    if e == 0.0 {
        0.0
    } else {
        e * f
    }
}

/// The shared exponentials of one population at one event time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Clock {
    pub t: f64,
    pub em: f64,
    pub es: f64,
    pub em_inv: f64,
    pub es_inv: f64,
    /// `G(t)`, the voltage of the forward coefficients' current term (`coeffs.rs`).
    pub g: f64,
    /// `-G(t) / (Em(t) Es(t))`: what a unit weight arriving at `t` adds to the coefficient `A`.
    pub g_w: f64,
    /// `G_b(t)`, the backward pass's counterpart of `G` (`backward.rs`).
    pub g_back: f64,
}

/// Per-population clocks of the current event time, computed on first use at each time and
/// shared by populations with the same time constants (their exponentials are the same numbers).
#[derive(Clone, Debug, Default)]
pub(crate) struct Clocks {
    pub epoch: f64,
    /// The smallest [`PopConsts::span`] over the populations.
    pub span: f64,
    /// Per class of populations with the same time constants: the clock last computed (valid
    /// while its `t` is the time asked for).
    cache: Vec<Clock>,
    /// Per population: its class.
    class: Vec<usize>,
}

impl Clocks {
    pub fn reset(&mut self, consts: &[PopConsts], epoch: f64) {
        self.epoch = epoch;
        self.span = consts
            .iter()
            .map(PopConsts::span)
            .fold(f64::INFINITY, f64::min);
        self.class.clear();
        for (p, c) in consts.iter().enumerate() {
            let same = |q: &PopConsts| {
                q.k.inv_tau_mem == c.k.inv_tau_mem && q.k.inv_tau_syn == c.k.inv_tau_syn
            };
            let first = consts[..p].iter().position(same).unwrap_or(p);
            self.class
                .push(if first < p { self.class[first] } else { p });
        }
        self.cache.clear();
        self.cache.resize(
            consts.len(),
            Clock {
                t: f64::NAN,
                ..Clock::default()
            },
        );
    }

    /// Whether the epoch must move before events at `t` are handled.
    #[inline]
    pub fn needs_rebase(&self, t: f64) -> bool {
        (t - self.epoch).abs() > self.span
    }

    /// Moves the epoch to `t` (the caller rescales every mark by the same shift).
    pub fn set_epoch(&mut self, t: f64) {
        self.epoch = t;
        self.cache.iter_mut().for_each(|c| c.t = f64::NAN);
    }

    /// The clock of population `p` at time `t`.
    #[inline]
    pub fn at(&mut self, consts: &[PopConsts], p: usize, t: f64) -> Clock {
        let c = &mut self.cache[self.class[p]];
        if c.t != t {
            *c = consts[p].clock(t, self.epoch);
        }
        *c
    }

    /// [`at`](Self::at), borrowed instead of copied (the delivery loops read it in place).
    #[inline]
    pub fn at_ref(&mut self, consts: &[PopConsts], p: usize, t: f64) -> &Clock {
        let (epoch, c) = (self.epoch, &mut self.cache[self.class[p]]);
        if c.t != t {
            *c = consts[p].clock(t, epoch);
        }
        c
    }
}
