//! The layout of a layer's dense weights: pre-major, `weights[pre * n_out + post]` (one
//! contiguous row per presynaptic neuron, the order of [`crate::engine::Projection`]'s
//! synapses), and the conversion from and to the `(n_out, n_in)` matrices of post-major code.

use super::network::Layer;

impl Layer {
    /// Index in [`Layer::weights`] (and in the layer's gradient) of the synapse `pre → post`.
    #[inline]
    pub fn index(&self, pre: usize, post: usize) -> usize {
        pre * self.n_out + post
    }
}

/// The transpose of the `rows × cols` matrix `m` stored row-major (`m[r * cols + c]`): a
/// `cols × rows` matrix, row-major. Turns a post-major `(n_out, n_in)` matrix into a layer's
/// pre-major weights (`transpose(m, n_out, n_in)`) and back (`transpose(w, n_in, n_out)`).
/// Entries that `m` lacks (if it is shorter than `rows * cols`) are NaN; extra ones are ignored.
pub fn transpose(m: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; rows.saturating_mul(cols)];
    transpose_into(m, rows, cols, &mut out);
    out
}

/// [`transpose`] into `out` (`cols × rows`, row-major), whose length bounds what is written.
pub fn transpose_into(m: &[f64], rows: usize, cols: usize, out: &mut [f64]) {
    for (c, col) in out.chunks_mut(rows.max(1)).take(cols).enumerate() {
        for (r, o) in col.iter_mut().enumerate() {
            *o = m.get(r * cols + c).copied().unwrap_or(f64::NAN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_of_a_2x3_matrix_and_back() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]].
        let m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert_eq!(transpose(&m, 2, 3), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        assert_eq!(transpose(&transpose(&m, 2, 3), 3, 2), m);
        assert!(transpose(&m[..5], 2, 3)[5].is_nan());
    }
}
