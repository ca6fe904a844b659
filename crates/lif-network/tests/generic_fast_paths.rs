//! The declared shortcuts of the generic LIF path give the general path's bits. Guards against a
//! shortcut that changes a gradient: the loss's input declarations (`event_term_inputs`: a spike
//! time depends on `τ` alone; `observation_depends_on_parameters`: a voltage does not read the
//! weights) and the model's guard gradient (a unit vector, `guard_depends_on_parameters() =
//! false`) and `λᵀ ∂x0/∂p = 0`, each against the dual-number defaults on the same network; and
//! against a false declaration going unnoticed (`hybrid_testkit::check_loss_inputs` must refuse
//! it, and it would change the gradient).

use crate::generic_common;
use generic_common::*;
use hybrid_core::{
    adjoint_gradient, forward_gradient, simulate, At, Crossing, Derivatives, Dims, Duals,
    EventPoint, EventSelector, EventTermInputs, HybridSystem, Loss, Scalar,
};
use hybrid_testkit::{check_gradients, check_loss_inputs, Tolerances};
use lif_network::generic::{spike_counts, LifNetwork, SpikeVoltageLoss};
use proptest::prelude::*;

/// The LIF network with its sparse jump and flow products but the dual-number defaults of
/// `guard_depends_on_parameters`, `guard_gradient` and `initial_state_vjp`.
struct DualGuards<'a>(&'a LifNetwork);

impl HybridSystem for DualGuards<'_> {
    fn dims(&self) -> Dims {
        self.0.dims()
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        self.0.initial_state(p, x0)
    }
    fn flow<T: Scalar>(&self, q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        self.0.flow(q, t, x, p, dx)
    }
    fn guard<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        self.0.guard(q, k, t, x, p)
    }
    fn direction(&self, q: usize, k: usize) -> Crossing {
        self.0.direction(q, k)
    }
    fn jump<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        self.0.jump(q, k, t, x, p, xp)
    }
    fn initial_mode(&self) -> usize {
        self.0.initial_mode()
    }
    fn next_mode(&self, q: usize, k: usize) -> usize {
        self.0.next_mode(q, k)
    }
    fn guard_active(&self, q: usize, k: usize) -> bool {
        self.0.guard_active(q, k)
    }
    fn scheduled_times(&self) -> &[f64] {
        self.0.scheduled_times()
    }
    fn scheduled_jump<T: Scalar>(&self, i: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        self.0.scheduled_jump(i, t, x, p, xp)
    }
}

impl Derivatives for DualGuards<'_> {
    fn flow_depends_on_parameters(&self) -> bool {
        self.0.flow_depends_on_parameters()
    }
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        self.0.flow_jvp(at, s, out, ad)
    }
    fn flow_vjp(&self, at: At<'_>, l: &[f64], ox: &mut [f64], op: &mut [f64], ad: &mut Duals) {
        self.0.flow_vjp(at, l, ox, op, ad)
    }
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        self.0.jump_jvp(k, at, s, out, ad)
    }
    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        self.0.jump_vjp(k, at, l, ox, op, ad)
    }
    fn scheduled_jump_jvp(&self, i: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        self.0.scheduled_jump_jvp(i, at, s, out, ad)
    }
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        self.0.scheduled_jump_vjp(i, at, l, ox, op, ad)
    }
}

/// A loss with the default declarations: every term depends on everything.
struct Undeclared<'a, L>(&'a L);

impl<L: Loss> Loss for Undeclared<'_, L> {
    fn observation_times(&self) -> &[f64] {
        self.0.observation_times()
    }
    fn observation<T: Scalar>(&self, i: usize, x: &[T], p: &[T]) -> Option<T> {
        self.0.observation(i, x, p)
    }
    fn event_selectors(&self) -> &[EventSelector] {
        self.0.event_selectors()
    }
    fn event_term<T: Scalar>(&self, j: usize, event: EventPoint<'_, T>, p: &[T]) -> Option<T> {
        self.0.event_term(j, event, p)
    }
}

/// A random network and its weights, `t_end`, and a loss of all spike times of every neuron
/// (weights 0.01) plus every voltage at `0.9 t_end`, the benchmark's loss (docs/performance.md
/// §2).
fn case(seed: u64) -> Option<(LifNetwork, Vec<f64>, f64, SpikeVoltageLoss)> {
    let (model, p, t_end) = random_model(seed)?;
    let sol = simulate(&model, &p, 0.0, t_end, &tight()).ok()?;
    let mut loss = SpikeVoltageLoss::new(&model);
    for (neuron, &count) in spike_counts(&sol.events, model.neurons())
        .iter()
        .enumerate()
    {
        for k in 0..count {
            loss = loss.spike_time(neuron, k, 0.01).ok()?;
        }
        loss = loss.voltage(neuron, 0.9 * t_end, 1.0).ok()?;
    }
    Some((model, p, t_end, loss))
}

fn bits(g: &[f64]) -> Vec<u64> {
    g.iter().map(|v| v.to_bits()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_global_rejects: 4096, ..ProptestConfig::default() })]

    /// Where every shortcut applies (spike-time and voltage terms, threshold guards, zero initial
    /// state): the adjoint and the forward gradient are the bits of the general path.
    #[test]
    fn declared_shortcuts_give_the_general_paths_bits(seed in any::<u64>()) {
        let c = case(seed);
        prop_assume!(c.is_some());
        let (model, p, t_end, loss) = c.unwrap();
        let general = (DualGuards(&model), Undeclared(&loss));
        let fast = adjoint_gradient(&model, &p, 0.0, t_end, &loss, &tight());
        prop_assume!(fast.is_ok());
        let fast = fast.unwrap();
        // At least one spike: one guard event, one spike-time term.
        prop_assume!(fast.events.iter().any(|e| e.guard().is_some()));
        let slow = adjoint_gradient(&general.0, &p, 0.0, t_end, &general.1, &tight()).unwrap();
        prop_assert_eq!(fast.loss.to_bits(), slow.loss.to_bits());
        prop_assert_eq!(bits(&fast.gradient), bits(&slow.gradient));
        let fast = forward_gradient(&model, &p, 0.0, t_end, &loss, &tight()).unwrap();
        let slow = forward_gradient(&general.0, &p, 0.0, t_end, &general.1, &tight()).unwrap();
        prop_assert_eq!(bits(&fast.gradient), bits(&slow.gradient));
        // The declarations hold at every event and observation of the run.
        prop_assert!(check_loss_inputs(&model, &p, 0.0, t_end, &loss, &tight()).is_ok());
    }
}

/// `ψ = I_k(τ⁻)` at neuron `k`'s first spike: a term of the state before the jump, declared
/// either truthfully (`ALL`) or falsely as a term of the time alone.
struct CurrentAtSpike {
    sel: [EventSelector; 1],
    current: usize,
    inputs: EventTermInputs,
}

impl Loss for CurrentAtSpike {
    fn event_selectors(&self) -> &[EventSelector] {
        &self.sel
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        Some(event.x_minus[self.current])
    }
    fn event_term_inputs(&self, _j: usize) -> EventTermInputs {
        self.inputs
    }
}

/// Where the shortcut must not apply: a term of `x⁻` keeps its `x⁻` partials (the gradient
/// agrees with central differences and the forward method), and declaring it a term of the time
/// alone is refused by `check_loss_inputs` (naming `x_minus`) and would change the gradient.
#[test]
fn a_term_of_the_state_keeps_its_state_partials_and_a_false_declaration_is_refused() {
    let (model, p, t_end, sol) = (0..200)
        .find_map(|seed| {
            let (model, p, t_end, _) = case(seed)?;
            let sol = simulate(&model, &p, 0.0, t_end, &tight()).ok()?;
            let first = sol.events.iter().find(|e| e.guard().is_some())?;
            // Clear of grazing, of t_end and of other events, for central differences.
            let clear = first.gdot.abs() > 5e-3 * model.lif_params().threshold
                && t_end - first.t > 0.05
                && sol
                    .events
                    .iter()
                    .all(|e| std::ptr::eq(e, first) || (e.t - first.t).abs() > 0.01);
            clear.then_some((model, p, t_end, sol))
        })
        .expect("a network with a clear first spike");
    let k = sol.events.iter().find_map(|e| e.guard()).unwrap();
    let truthful = CurrentAtSpike {
        sel: [EventSelector::nth_of_guard(k, 0)],
        current: model.i_index(k),
        inputs: EventTermInputs::ALL,
    };
    let report = check_gradients(
        &model,
        &p,
        0.0,
        t_end,
        &truthful,
        &tight(),
        &Tolerances::default(),
    )
    .unwrap();
    assert!(report.adjoint.iter().any(|&g| g != 0.0), "{report:?}");
    let false_claim = CurrentAtSpike {
        inputs: EventTermInputs::TIME,
        ..truthful
    };
    let err = check_loss_inputs(&model, &p, 0.0, t_end, &false_claim, &tight()).unwrap_err();
    assert!(err.to_string().contains("x_minus"), "{err}");
    let wrong = adjoint_gradient(&model, &p, 0.0, t_end, &false_claim, &tight()).unwrap();
    assert_ne!(bits(&wrong.gradient), bits(&report.adjoint));
}
