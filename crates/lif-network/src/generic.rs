//! The LIF network of Table 1 as a [`hybrid_core::HybridSystem`]: the generic path, run through the
//! framework's event-locating integrator, forward sensitivities and adjoint (`docs/maths.md`
//! §"10. The LIF network"). It computes the same gradients as [`crate::eventprop`] by an
//! independent route, which is what the cross-check tests use it for.
//!
//! - [`LifNetwork`]: `N` neurons, state `x = (V_0..V_{N-1}, I_0..I_{N-1})`, one parameter per
//!   synapse; input spikes are scheduled events.
//! - `convert`: the same network and inputs from a [`crate::FeedForwardNet`] or a
//!   [`crate::RecurrentNet`], and the flat gradient mapped back to their weight layouts.
//! - `products`: the sparse derivative products ([`hybrid_core::Derivatives`]), checked against
//!   the dual-number defaults by `tests/generic_model.rs` and `tests/generic_fast_paths.rs`.
//! - `loss`: [`SpikeVoltageLoss`], a weighted sum of spike times and of voltages at fixed times.
//! - `adjoint_trace`: [`adjoint_at`], the adjoint `λ(t)` at chosen times (for plots such as the
//!   paper's Fig. 2), read off the gradient of extra zero-valued state kicks.
//!
//! Sign and scale (`docs/maths.md` §"10. The LIF network", "Map to the paper"): the adjoints of
//! the generic path are those of `docs/maths.md` §"3. The adjoint, derived",
//! `λ_V(paper) = -λ_V/τ_mem`, `λ_I(paper) = -λ_I/τ_syn`; gradients are the same.
//!
//! ```
//! use hybrid_core::{adjoint_gradient, simulate, SolverOptions};
//! use lif_network::generic::{LifNetwork, SpikeVoltageLoss};
//! use lif_network::{FeedForwardNet, InputSpike, LayerKind, LifParams};
//!
//! // One input, one hidden neuron, one output neuron (a block-triangular W).
//! let layers = [(1, LayerKind::Spiking), (1, LayerKind::Spiking)];
//! let mut net = FeedForwardNet::new(1, &layers, LifParams::default(), 30.0)?;
//! net.layers[0].weights = vec![8.0];
//! net.layers[1].weights = vec![9.0];
//! let input = [InputSpike { time: 1.0, source: 0 }];
//! let (model, p) = LifNetwork::from_feed_forward(&net, &input)?;
//! let opts = SolverOptions::default();
//! let sol = simulate(&model, &p, 0.0, net.t_end, &opts)?;
//! // Loss: the output neuron's spike times (neuron 1 of the network).
//! let loss = SpikeVoltageLoss::new(&model).all_spikes(1, &sol.events, 1.0)?;
//! let g = adjoint_gradient(&model, &p, 0.0, net.t_end, &loss, &opts)?;
//! assert_eq!(g.gradient.len(), 2); // dL/dw_in, dL/dw: stronger weights, earlier spikes
//! assert!(g.gradient.iter().all(|&d| d < 0.0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adjoint_trace;
mod convert;
mod loss;
mod products;

pub use adjoint_trace::{adjoint_at, AdjointProbes, AdjointTrace};
pub use convert::{layer_gradient, layer_offsets, recurrent_gradient, set_layer_weights};
pub use loss::{spike_counts, SpikeVoltageLoss};

use crate::{InputSpike, LifError, LifParams};
use hybrid_core::{Crossing, Dims, HybridSystem, Scalar};

/// Where the spikes crossing a synapse come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Presynaptic {
    /// Input neuron `i` (its spikes are the fixed [`InputSpike`]s with `source == i`).
    Input(usize),
    /// Network neuron `n` (its spikes are the threshold crossings of `V_n`).
    Neuron(usize),
}

/// One synapse: a spike of `source` adds the synapse's weight to the current `I_target`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Synapse {
    /// Presynaptic neuron.
    pub source: Presynaptic,
    /// Postsynaptic network neuron.
    pub target: usize,
}

/// A LIF network (Table 1) as a hybrid system, with the weights as parameters.
///
/// - State `x ∈ R^{2N}`: `x[n] = V_n`, `x[N + n] = I_n` ([`Self::v_index`], [`Self::i_index`]).
/// - Flow: `τ_mem V̇_n = -V_n + I_n`, `τ_syn İ_n = -I_n`; `x(0) = 0`.
/// - Guard `n` (spiking neurons only): `V_n - ϑ`, rising; `ġ = (I_n - ϑ)/τ_mem`.
/// - Jump `n`: `V_n ← 0`, `I_m ← I_m + w_j` for every synapse `j` from neuron `n` to `m`.
/// - Input spike (scheduled event at its fixed time): `I_m ← I_m + w_j` for every synapse `j` from
///   its input to `m`.
/// - Parameters `p_j = w_j`, one per synapse, in the order of [`Self::synapses`]: first the input
///   synapses in row-major `(target, input)` order, then the recurrent ones in row-major
///   `(target, source)` order. Self-connections are excluded from the parameter vector (Table 1:
///   `m ≠ n`), as are all pairs the connectivity leaves out, so a layered network's block `W`
///   costs only its blocks.
///
/// With refractory periods ([`Self::with_refractory`]) the state also holds one clock per
/// neuron, there is one clock guard per neuron, and the mode is the set of refractory neurons.
///
/// Non-spiking neurons (a readout layer) have no active guard: they integrate without threshold.
/// `flow_vjp` and `flow_sensitivity` are overridden with the sparse products (`f_p = 0`, `f_x`
/// block-diagonal per neuron), and so are the jump products, the guard gradient (a unit vector,
/// `g_p = 0`) and `λᵀ ∂x0/∂p = 0`; the tests check them against the dual-number defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct LifNetwork {
    params: LifParams,
    spiking: Vec<bool>,
    n_inputs: usize,
    synapses: Vec<Synapse>,
    /// Input spike times, sorted (ties keep their given order).
    input_times: Vec<f64>,
    /// Source of each sorted input spike.
    input_sources: Vec<usize>,
    /// Per input: `(target, parameter index)` of its synapses.
    input_fan_out: Vec<Vec<(usize, usize)>>,
    /// Per neuron: `(target, parameter index)` of its synapses.
    neuron_fan_out: Vec<Vec<(usize, usize)>>,
    /// Per neuron: absolute refractory period (0 = none); see [`Self::with_refractory`].
    refractory: Vec<f64>,
    /// Whether any neuron is refractory (then the state has clocks and the mode is a bit set).
    clock: bool,
}

impl LifNetwork {
    /// A network of `spiking.len()` neurons (`spiking[n]`: whether neuron `n` has a threshold)
    /// driven by `n_inputs` inputs firing at `input`; `connected(source, target)` says which
    /// synapses exist (self-connections are never created, whatever it answers).
    ///
    /// Fails on no neurons, invalid neuron parameters, or an input spike with a non-finite or
    /// negative time or a source `>= n_inputs`. Spikes after the simulated span are ignored by the
    /// simulation.
    pub fn new(
        params: LifParams,
        spiking: Vec<bool>,
        n_inputs: usize,
        input: &[InputSpike],
        connected: impl Fn(Presynaptic, usize) -> bool,
    ) -> Result<Self, LifError> {
        params.validate()?;
        let n = spiking.len();
        if n == 0 {
            return Err(LifError::EmptyLayer { layer: 1 });
        }
        for (index, s) in input.iter().enumerate() {
            s.check(index, n_inputs)?;
        }
        // Every possible synapse is asked about: refuse sizes that cannot be indexed or allocated.
        crate::error::weight_count("input synapses", n, n_inputs)?;
        crate::error::weight_count("recurrent synapses", n, n)?;
        let mut input_fan_out = Vec::new();
        input_fan_out
            .try_reserve_exact(n_inputs)
            .map_err(|_| LifError::TooLarge {
                what: "input fan-out",
                rows: n_inputs,
                cols: 1,
            })?;
        input_fan_out.resize(n_inputs, Vec::new());
        let mut sorted = input.to_vec();
        sorted.sort_by(|a, b| a.time.total_cmp(&b.time));
        let mut synapses = Vec::new();
        for target in 0..n {
            for i in 0..n_inputs {
                if connected(Presynaptic::Input(i), target) {
                    synapses.push(Synapse {
                        source: Presynaptic::Input(i),
                        target,
                    });
                }
            }
        }
        for target in 0..n {
            for s in (0..n).filter(|&s| s != target) {
                if connected(Presynaptic::Neuron(s), target) {
                    synapses.push(Synapse {
                        source: Presynaptic::Neuron(s),
                        target,
                    });
                }
            }
        }
        let mut neuron_fan_out = vec![Vec::new(); n];
        for (j, syn) in synapses.iter().enumerate() {
            match syn.source {
                Presynaptic::Input(i) => input_fan_out[i].push((syn.target, j)),
                Presynaptic::Neuron(s) => neuron_fan_out[s].push((syn.target, j)),
            }
        }
        Ok(Self {
            params,
            spiking,
            n_inputs,
            synapses,
            input_times: sorted.iter().map(|s| s.time).collect(),
            input_sources: sorted.iter().map(|s| s.source as usize).collect(),
            input_fan_out,
            neuron_fan_out,
            refractory: vec![0.0; n],
            clock: false,
        })
    }

    /// The same network with an absolute refractory period `t_ref[n]` (ms, finite, `>= 0`) per
    /// neuron: after a spike neuron `n`'s membrane is clamped at the reset value for `t_ref[n]`.
    ///
    /// With any `t_ref > 0` the model gains a clock state `c_n` per neuron (`ċ_n = 1`, reset to 0
    /// at the neuron's spike, [`Self::c_index`]), a clock guard `N + n`: `c_n - t_ref[n]`
    /// (rising), and the mode becomes the set of refractory neurons (bit `n` of `q`; at most
    /// `usize::BITS` neurons). In refractory mode neuron `n` has `V̇_n = 0` and no threshold guard;
    /// its clock guard ends the mode with an identity jump. The two guards are well posed: the
    /// threshold guard is `V_n - ϑ = -ϑ` (not 0) when the clock releases the neuron, because the
    /// membrane was held at the reset value, and the clock guard is `-t_ref` right after the spike.
    pub fn with_refractory(mut self, t_ref: Vec<f64>) -> Result<Self, LifError> {
        let n = self.neurons();
        if t_ref.len() != n {
            return Err(LifError::WrongLength {
                what: "refractory periods",
                layer: 0,
                expected: n,
                found: t_ref.len(),
            });
        }
        if let Some(&bad) = t_ref.iter().find(|t| !(t.is_finite() && **t >= 0.0)) {
            return Err(LifError::InvalidParameter {
                name: "refractory",
                value: bad,
                requirement: "finite and >= 0",
            });
        }
        let clock = t_ref.iter().any(|&t| t > 0.0);
        if clock && n > usize::BITS as usize {
            return Err(LifError::InvalidParameter {
                name: "neurons with refractory periods (the mode is a bit set)",
                value: n as f64,
                requirement: "at most usize::BITS neurons",
            });
        }
        self.refractory = t_ref;
        self.clock = clock;
        Ok(self)
    }

    /// Index of neuron `n`'s refractory clock `c_n` in the state (only with refractory periods).
    pub fn c_index(&self, n: usize) -> usize {
        2 * self.neurons() + n
    }

    /// Whether neuron `n` is refractory in mode `q`.
    pub fn is_refractory(&self, n: usize, q: usize) -> bool {
        self.clock && (q >> n) & 1 == 1
    }

    /// All-to-all recurrent network of `n` spiking neurons, every input connected to every neuron
    /// (Table 1 in full): `n · n_inputs + n (n - 1)` parameters.
    pub fn all_to_all(
        params: LifParams,
        n: usize,
        n_inputs: usize,
        input: &[InputSpike],
    ) -> Result<Self, LifError> {
        crate::error::weight_count("recurrent synapses", n, n)?;
        Self::new(params, vec![true; n], n_inputs, input, |_, _| true)
    }

    /// Number of neurons `N`.
    pub fn neurons(&self) -> usize {
        self.spiking.len()
    }

    /// Number of input neurons.
    pub fn inputs(&self) -> usize {
        self.n_inputs
    }

    /// Neuron parameters.
    pub fn lif_params(&self) -> LifParams {
        self.params
    }

    /// Whether neuron `n` has a threshold ([`LifError::NeuronOutOfRange`] if there is no neuron `n`).
    pub fn is_spiking(&self, n: usize) -> Result<bool, LifError> {
        self.spiking
            .get(n)
            .copied()
            .ok_or(LifError::NeuronOutOfRange {
                neuron: n,
                neurons: self.neurons(),
            })
    }

    /// The synapses; synapse `j`'s weight is parameter `p[j]`.
    pub fn synapses(&self) -> &[Synapse] {
        &self.synapses
    }

    /// Index of `V_n` in the state.
    pub fn v_index(&self, n: usize) -> usize {
        n
    }

    /// Index of `I_n` in the state.
    pub fn i_index(&self, n: usize) -> usize {
        self.neurons() + n
    }

    /// The input spikes in time order, as `(time, source)`.
    pub fn input_spikes(&self) -> impl Iterator<Item = (f64, usize)> + '_ {
        self.input_times
            .iter()
            .copied()
            .zip(self.input_sources.iter().copied())
    }
}

impl HybridSystem for LifNetwork {
    fn dims(&self) -> Dims {
        let n = self.neurons();
        let c = if self.clock { 1 } else { 0 };
        Dims {
            states: (2 + c) * n,
            params: self.synapses.len(),
            guards: (1 + c) * n,
        }
    }

    fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
        x0.iter_mut().for_each(|v| *v = T::zero());
    }

    /// Table 1: `τ_mem V̇ = -V + I`, `τ_syn İ = -I`, with `V̇_k = 0` for the refractory neurons
    /// of mode `q` (a bit set), and `ċ_k = 1`.
    fn flow<T: Scalar>(&self, q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) {
        let n = self.neurons();
        let (inv_mem, inv_syn) = (
            T::cst(1.0 / self.params.tau_mem),
            T::cst(1.0 / self.params.tau_syn),
        );
        for k in 0..n {
            dx[k] = if self.is_refractory(k, q) {
                T::zero()
            } else {
                (x[n + k] - x[k]) * inv_mem
            };
            dx[n + k] = -x[n + k] * inv_syn;
        }
        if self.clock {
            dx[2 * n..].iter_mut().for_each(|d| *d = T::one());
        }
    }

    /// Table 1: neuron `k` spikes when `V_k` reaches `ϑ` from below; guard `N + k` (with
    /// refractory periods) releases it when its clock reaches `t_ref`.
    fn guard<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        let n = self.neurons();
        if k < n {
            x[k] - T::cst(self.params.threshold)
        } else {
            x[2 * n + (k - n)] - T::cst(self.refractory[k - n])
        }
    }

    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Rising
    }

    fn guard_active(&self, q: usize, k: usize) -> bool {
        let n = self.neurons();
        if k < n {
            self.spiking[k] && !self.is_refractory(k, q)
        } else {
            self.is_refractory(k - n, q)
        }
    }

    fn next_mode(&self, q: usize, k: usize) -> usize {
        let n = self.neurons();
        if !self.clock {
            q
        } else if k < n {
            if self.refractory[k] > 0.0 {
                q | (1 << k)
            } else {
                q
            }
        } else {
            q & !(1 << (k - n))
        }
    }

    /// Table 1: `V_k ← 0`, `I_m ← I_m + w_mk` (and `c_k ← 0`); a clock guard's jump is the
    /// identity.
    fn jump<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        let n = self.neurons();
        xp.copy_from_slice(x);
        if k >= n {
            return;
        }
        xp[k] = T::zero();
        if self.clock {
            xp[2 * n + k] = T::zero();
        }
        for &(target, j) in &self.neuron_fan_out[k] {
            xp[n + target] += p[j];
        }
    }

    fn scheduled_times(&self) -> &[f64] {
        &self.input_times
    }

    /// Input spike `i` (eq. 56's events): `I_m ← I_m + w_m,src`.
    fn scheduled_jump<T: Scalar>(&self, i: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        let n = self.neurons();
        xp.copy_from_slice(x);
        for &(target, j) in &self.input_fan_out[self.input_sources[i]] {
            xp[n + target] += p[j];
        }
    }
}
