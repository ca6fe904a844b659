//! Projections of a general network from NumPy, and their weights and gradients back in the
//! layout Python gave them: a dense matrix `[n_post, n_pre]` (entry `[post, pre]`), or sparse
//! synapses `(pre, post, weight)` in the caller's order. The engine stores both as fan-out lists
//! sorted by `(pre, post)` ([`Projection`]); a [`Layout`] maps between the two.

use lif_network::engine::{Projection, Source};
use lif_network::eventprop::transpose;
use numpy::{PyReadonlyArray1, PyReadonlyArray2};

use crate::errors::{Error, Result};

/// A sparse projection as NumPy gives it: presynaptic indices, postsynaptic indices, weights.
pub(crate) type PySynapses<'py> = (
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, f64>,
);

/// How Python lays out a projection's weights (and gradients).
#[derive(Clone, Debug)]
pub(crate) enum Layout {
    /// A matrix `[n_post, n_pre]`, row-major. In a recurrent projection (a population onto
    /// itself) the diagonal holds no synapse (`w_nn = 0`) and is zero.
    Dense { n_pre: usize, n_post: usize },
    /// One entry per synapse in the caller's order: engine synapse `s` is the caller's
    /// `order[s]`; `pre` and `post` as the caller gave them.
    Sparse {
        order: Vec<usize>,
        pre: Vec<i64>,
        post: Vec<i64>,
    },
}

/// Where a projection runs, for building and for error messages: its index, the names of its
/// source and target, its pre- and postsynaptic sizes.
pub(crate) struct Ends<'a> {
    pub index: usize,
    pub source: Source,
    pub target: usize,
    pub source_name: &'a str,
    pub target_name: &'a str,
    pub n_pre: usize,
    pub n_post: usize,
}

impl Ends<'_> {
    fn recurrent(&self) -> bool {
        self.source == Source::Population(self.target)
    }

    /// `projection i (source -> target)`, how errors name it.
    pub fn describe(&self) -> String {
        format!(
            "projection {} ({} -> {})",
            self.index, self.source_name, self.target_name
        )
    }

    fn error(&self, problem: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: {problem}", self.describe()))
    }

    /// Checks that there are at most `u32::MAX` synapses (the engine's index type).
    fn count_fits(&self, n: usize) -> Result<()> {
        if n > u32::MAX as usize {
            return Err(self.error(format!("{n} synapses (at most {} supported)", u32::MAX)));
        }
        Ok(())
    }

    /// The dense projection with weights `w` (`[n_post, n_pre]`), checked: shape, finite
    /// entries, a zero diagonal if recurrent.
    pub fn dense(&self, w: &PyReadonlyArray2<'_, f64>) -> Result<(Projection, Layout)> {
        let (n_pre, n_post) = (self.n_pre, self.n_post);
        self.count_fits(n_pre.saturating_mul(n_post))?;
        let flat = self.dense_values(w)?;
        // NumPy's `[n_post, n_pre]` is post-major; `Projection::dense` reads pre-major.
        let pre_major = transpose(&flat, n_post, n_pre);
        let p = Projection::dense(self.source, self.target, n_pre, n_post, &pre_major);
        Ok((p, Layout::Dense { n_pre, n_post }))
    }

    /// The entries of a dense weight matrix, checked, row-major.
    fn dense_values(&self, w: &PyReadonlyArray2<'_, f64>) -> Result<Vec<f64>> {
        let view = w.as_array();
        if view.dim() != (self.n_post, self.n_pre) {
            return Err(self.error(format!(
                "dense weights have shape {:?}; expected (n_post, n_pre) = ({}, {})",
                view.dim(),
                self.n_post,
                self.n_pre
            )));
        }
        for ((post, pre), &v) in view.indexed_iter() {
            if !v.is_finite() {
                return Err(self.error(format!(
                    "weight [{post}, {pre}] is {v}: weights must be finite"
                )));
            }
            if self.recurrent() && post == pre && v != 0.0 {
                return Err(self.error(format!(
                    "weight [{post}, {post}] is {v}: a recurrent projection has no \
                     self-connections (set its diagonal to 0)"
                )));
            }
        }
        Ok(view.iter().copied().collect())
    }

    /// The sparse projection of the synapses `(pre[i], post[i], weight[i])`, checked: equal
    /// lengths, indices in range, finite weights, no self-connection if recurrent. Duplicates
    /// are separate synapses (their weights add).
    pub fn sparse(&self, syn: &PySynapses<'_>) -> Result<(Projection, Layout)> {
        let (pre, post, w) = (syn.0.as_array(), syn.1.as_array(), syn.2.as_array());
        if pre.len() != post.len() || pre.len() != w.len() {
            return Err(self.error(format!(
                "sparse synapses need pre, post and weight arrays of one length; got {}, {} \
                 and {}",
                pre.len(),
                post.len(),
                w.len()
            )));
        }
        self.count_fits(pre.len())?;
        for (i, (&a, &b)) in pre.iter().zip(&post).enumerate() {
            if a < 0 || a as u64 >= self.n_pre as u64 {
                return Err(self.error(format!(
                    "synapse {i} has pre index {a}; {} has {} neurons (0..{})",
                    self.source_name, self.n_pre, self.n_pre
                )));
            }
            if b < 0 || b as u64 >= self.n_post as u64 {
                return Err(self.error(format!(
                    "synapse {i} has post index {b}; {} has {} neurons (0..{})",
                    self.target_name, self.n_post, self.n_post
                )));
            }
            if self.recurrent() && a == b {
                return Err(self.error(format!(
                    "synapse {i} connects neuron {a} to itself: a recurrent projection has no \
                     self-connections"
                )));
            }
        }
        let weights = w.to_vec();
        self.check_finite(&weights)?;
        let mut order: Vec<usize> = (0..pre.len()).collect();
        // Stable: duplicates keep the caller's order, as `Projection::sparse` keeps them.
        order.sort_by_key(|&i| (pre[i], post[i]));
        let sorted: Vec<(u32, u32, f64)> = order
            .iter()
            .map(|&i| (pre[i] as u32, post[i] as u32, weights[i]))
            .collect();
        let p = Projection::sparse(self.source, self.target, self.n_pre, &sorted);
        Ok((
            p,
            Layout::Sparse {
                order,
                pre: pre.to_vec(),
                post: post.to_vec(),
            },
        ))
    }

    /// Checks that every sparse weight is finite.
    fn check_finite(&self, w: &[f64]) -> Result<()> {
        match w.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            Some((i, v)) => Err(self.error(format!(
                "weight of synapse {i} is {v}: weights must be finite"
            ))),
            None => Ok(()),
        }
    }

    /// New weights for `proj` (laid out as `layout`) from a dense matrix, checked.
    pub fn set_dense(
        &self,
        proj: &mut Projection,
        layout: &Layout,
        w: &PyReadonlyArray2<'_, f64>,
    ) -> Result<()> {
        let Layout::Dense { n_pre, .. } = *layout else {
            return Err(self.error(
                "is sparse: give its weights as a 1-D array, one per synapse in the order of \
                 its synapses",
            ));
        };
        let flat = self.dense_values(w)?;
        for pre in 0..n_pre {
            for s in proj.fan_out(pre) {
                proj.weights[s] = flat[proj.targets[s] as usize * n_pre + pre];
            }
        }
        Ok(())
    }

    /// New weights for `proj` (laid out as `layout`) from one value per synapse, checked.
    pub fn set_sparse(&self, proj: &mut Projection, layout: &Layout, w: &[f64]) -> Result<()> {
        let Layout::Sparse { order, .. } = layout else {
            return Err(self.error(format!(
                "is dense: give its weights as a matrix of shape ({}, {})",
                self.n_post, self.n_pre
            )));
        };
        if w.len() != order.len() {
            return Err(self.error(format!("{} weights for {} synapses", w.len(), order.len())));
        }
        self.check_finite(w)?;
        for (s, &i) in order.iter().enumerate() {
            proj.weights[s] = w[i];
        }
        Ok(())
    }
}

/// Values aligned with `proj`'s synapses (weights or a gradient) in the caller's layout: a
/// row-major `[n_post, n_pre]` matrix (zero where there is no synapse), or one per synapse in
/// the caller's order.
pub(crate) fn to_caller(proj: &Projection, layout: &Layout, values: &[f64]) -> Vec<f64> {
    match layout {
        Layout::Dense { n_pre, n_post } => {
            let mut out = vec![0.0; n_pre * n_post];
            for pre in 0..*n_pre {
                for s in proj.fan_out(pre) {
                    out[proj.targets[s] as usize * n_pre + pre] = values[s];
                }
            }
            out
        }
        Layout::Sparse { order, .. } => {
            let mut out = vec![0.0; order.len()];
            for (s, &i) in order.iter().enumerate() {
                out[i] = values[s];
            }
            out
        }
    }
}
