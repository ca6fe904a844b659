//! The flow's Jacobians `[f_x, f_p]` of one mode as a matrix, for a model that declares them free
//! of the state and of time ([`Derivatives::flow_jacobian_depends_on_time`]): the adjoint's
//! backward pass (docs/maths.md §3) forms it once per mode by `n` vector-Jacobian products and
//! evaluates every stage's `[λᵀf_x, λᵀf_p]` as `λ` times its nonzero entries.

use crate::derivatives::{At, Duals};
use crate::Derivatives;

/// `[f_x, f_p]` (`n × (n + nq)`, `nq` the columns of `f_p` the backward pass integrates, `0`
/// without the quadrature) of one mode, kept as its nonzero entries. All storage is sized at
/// construction: forming it allocates nothing.
pub(crate) struct ConstantJacobian {
    /// `(column j, row i, a_ij)` for every `a_ij ≠ 0`, sorted by `j` then `i`.
    entries: Vec<(usize, usize, f64)>,
    /// The dense matrix while it is formed, row `i` (`λ = e_i`) at `dense[i w .. (i + 1) w]`.
    dense: Vec<f64>,
    /// A unit vector and the rows' halves, for the products.
    unit: Vec<f64>,
    out_x: Vec<f64>,
    out_p: Vec<f64>,
    /// The mode whose matrix `entries` holds (`None`: none yet, or parameters changed).
    mode: Option<usize>,
}

impl ConstantJacobian {
    /// Room for `n` states and `nq` parameter columns.
    pub fn new(n: usize, nq: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n * (n + nq)),
            dense: vec![0.0; n * (n + nq)],
            unit: vec![0.0; n],
            out_x: vec![0.0; n],
            out_p: vec![0.0; nq],
            mode: None,
        }
    }

    /// Drop the matrix held (the parameters of the next run may differ).
    pub fn forget(&mut self) {
        self.mode = None;
    }

    /// Whether the matrix of mode `q` is held.
    pub fn holds(&self, q: usize) -> bool {
        self.mode == Some(q)
    }

    /// Form the matrix of mode `at.q` by `flow_vjp` with unit `λ` (row `i` from `λ = e_i`) at
    /// `at` (any state and time of the mode will do: the model declares its Jacobians free of
    /// both).
    pub fn form<M: Derivatives>(&mut self, model: &M, at: At<'_>, ad: &mut Duals) {
        let n = self.unit.len();
        let w = n + self.out_p.len();
        self.unit.fill(0.0);
        for i in 0..n {
            self.unit[i] = 1.0;
            model.flow_vjp(at, &self.unit, &mut self.out_x, &mut self.out_p, ad);
            self.unit[i] = 0.0;
            let row = &mut self.dense[i * w..(i + 1) * w];
            row[..n].copy_from_slice(&self.out_x);
            row[n..].copy_from_slice(&self.out_p);
        }
        self.entries.clear();
        for j in 0..w {
            for i in 0..n {
                let a = self.dense[i * w + j];
                if a != 0.0 {
                    self.entries.push((j, i, a));
                }
            }
        }
        self.mode = Some(at.q);
    }

    /// `dz = λᵀ[f_x, f_p]` (`dz.len() = n + nq`, `λ = z[..n]`): each `dz[j]` sums the products of
    /// its nonzero entries in the order of `i`, from `+0` (which changes no nonzero sum). The
    /// ball's 2 × 6 matrix has 2 nonzero entries; a dense loop over all 12 cost ~100
    /// instructions per call (callgrind), the dual `flow_vjp` with its closure ~145.
    #[inline]
    pub fn times(&self, z: &[f64], dz: &mut [f64]) {
        for d in dz.iter_mut() {
            *d = 0.0;
        }
        for &(j, i, a) in &self.entries {
            dz[j] += z[i] * a;
        }
    }
}
