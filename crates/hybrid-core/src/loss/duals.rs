//! The partials of a [`super::Loss`]'s terms by dual numbers: the observation, running and
//! event-time gradients both gradient methods add (docs/maths.md §1).

use super::{EventPoint, EventTermInputs, Loss};
use crate::trajectory::EventRecord;
use crate::Error;
use num_dual::Dual64;

fn missing(part: &'static str, index: usize) -> Error {
    Error::MissingLossTerm { part, index }
}

/// Dual-number scratch for the partials of loss terms (no allocation once warm).
///
/// The parameters are seeded once per pass ([`Self::set_parameters`]): a term's gradient then
/// costs one evaluation per wanted direction plus `O(n)` seeding, not `O(n + m)`.
#[derive(Debug, Default)]
pub(crate) struct LossDuals {
    /// The term's state inputs (`x`, or `[τ, x⁻, x⁺]`).
    z: Vec<Dual64>,
    /// The parameters (derivative parts zero between evaluations).
    p: Vec<Dual64>,
    /// Gradient of the last term with respect to its state inputs (the layout of `z`).
    pub grad: Vec<f64>,
    /// Gradient of the last term with respect to `p` (zero when it does not depend on `p`).
    pub grad_p: Vec<f64>,
    /// Whether `grad_p` is all zeros (so a term without `p` need not clear it again).
    grad_p_zero: bool,
}

impl LossDuals {
    /// Seed the parameters for the terms of one pass (every later call passes the same `p`).
    pub fn set_parameters(&mut self, p: &[f64]) {
        self.p.clear();
        self.p.extend(p.iter().map(|&v| Dual64::new(v, 0.0)));
        self.grad_p.clear();
        self.grad_p.resize(p.len(), 0.0);
        self.grad_p_zero = true;
    }

    /// Value and gradient of `f(z, p)` at the seeded `self.z` and `self.p`: `self.grad[i]` for
    /// the state directions `i` of `dirs` and `self.grad_p` when `with_p`, one evaluation per
    /// direction, state directions first in increasing order, then the parameters (the order of
    /// the packed inputs `[z, p]`); every other partial is zero, not evaluated.
    fn gradient_on<I, F>(&mut self, p: &[f64], dirs: I, with_p: bool, mut f: F) -> Option<f64>
    where
        I: IntoIterator<Item = usize>,
        F: FnMut(&[Dual64], &[Dual64]) -> Option<Dual64>,
    {
        debug_assert!(
            self.p.len() == p.len() && self.p.iter().zip(p).all(|(d, &v)| d.re == v),
            "LossDuals::set_parameters was not called with these parameters"
        );
        self.grad.clear();
        self.grad.resize(self.z.len(), 0.0);
        let mut value = f(&self.z, &self.p)?.re;
        for i in dirs {
            self.z[i].eps = 1.0;
            let d = f(&self.z, &self.p)?;
            self.z[i].eps = 0.0;
            value = d.re;
            self.grad[i] = d.eps;
        }
        if with_p {
            for j in 0..self.p.len() {
                self.p[j].eps = 1.0;
                let d = f(&self.z, &self.p);
                self.p[j].eps = 0.0;
                let d = d?;
                value = d.re;
                self.grad_p[j] = d.eps;
            }
            self.grad_p_zero = false;
        } else if !self.grad_p_zero {
            self.grad_p.fill(0.0);
            self.grad_p_zero = true;
        }
        Some(value)
    }

    /// Seed `self.z` with `x` (derivative parts zero).
    fn seed_state(&mut self, x: &[f64]) {
        self.z.clear();
        self.z.extend(x.iter().map(|&v| Dual64::new(v, 0.0)));
    }

    /// `φ_i` and its gradient: `φ_x` into `self.grad`, `φ_p` into `self.grad_p`.
    pub fn observation<L: Loss>(
        &mut self,
        loss: &L,
        i: usize,
        x: &[f64],
        p: &[f64],
    ) -> Result<f64, Error> {
        self.seed_state(x);
        let with_p = loss.observation_depends_on_parameters(i);
        self.gradient_on(p, 0..x.len(), with_p, |x, p| loss.observation(i, x, p))
            .ok_or(missing("observation", i))
    }

    /// `ℓ` and its gradient at `t`: `ℓ_x` into `self.grad`, `ℓ_p` into `self.grad_p`.
    pub fn running<L: Loss>(&mut self, loss: &L, t: f64, x: &[f64], p: &[f64]) -> Option<f64> {
        self.seed_state(x);
        let td = Dual64::new(t, 0.0);
        self.gradient_on(p, 0..x.len(), true, |x, p| loss.running(td, x, p))
    }

    /// `ψ_j` at `record` (the `occurrence`-th pick of selector `j`) and its gradient:
    /// `[ψ_τ, ψ_{x⁻}, ψ_{x⁺}]` into `self.grad` (length `1 + 2n`), `ψ_p` into `self.grad_p`,
    /// evaluated in the directions of `inputs` (`loss.event_term_inputs(j)`, which the caller
    /// passes so that it can skip the zero parts) and zero in the others.
    pub fn event_term<L: Loss>(
        &mut self,
        loss: &L,
        j: usize,
        record: &EventRecord,
        occurrence: usize,
        p: &[f64],
        inputs: EventTermInputs,
    ) -> Result<f64, Error> {
        let n = record.x_minus.len();
        self.z.clear();
        self.z.push(Dual64::new(record.t, 0.0));
        let (xm, xp) = (&record.x_minus, &record.x_plus);
        self.z
            .extend(xm.iter().chain(xp).map(|&v| Dual64::new(v, 0.0)));
        let blocks = [
            (inputs.t, 0..1),
            (inputs.x_minus, 1..1 + n),
            (inputs.x_plus, 1 + n..1 + 2 * n),
        ];
        let mut ranges: [std::ops::Range<usize>; 3] = Default::default();
        let mut used = 0;
        for (wanted, range) in blocks {
            if wanted {
                ranges[used] = range;
                used += 1;
            }
        }
        let dirs = ranges[..used].iter().flat_map(|r| r.clone());
        self.gradient_on(p, dirs, inputs.p, |z, p| {
            let point = EventPoint {
                t: z[0],
                x_minus: &z[1..1 + n],
                x_plus: &z[1 + n..1 + 2 * n],
                occurrence,
            };
            loss.event_term(j, point, p)
        })
        .ok_or(missing("event term", j))
    }
}

/// Whether `loss` has a running part: it answers at `(t0, x0)`.
pub(crate) fn has_running<L: Loss>(loss: &L, t0: f64, x0: &[f64], p: &[f64]) -> bool {
    loss.running(t0, x0, p).is_some()
}
