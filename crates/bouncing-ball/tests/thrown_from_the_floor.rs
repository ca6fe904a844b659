//! A ball thrown up from the floor (`y0 = 0`, `v0 > 0`) starts on its guard: the forward
//! sensitivities once took their own steps and saw no impact at all where the simulation saw 49.
//! Every pass must see the closed form's impacts, at bit-identical times, and both gradients must
//! match the closed form.

use crate::common;
use bouncing_ball::closed_form::{impact_times, impacts_until};
use bouncing_ball::{adjoint_gradient, forward_gradient, simulate};
use common::*;

#[test]
fn every_pass_sees_every_impact_of_a_ball_thrown_up_from_the_floor() {
    let p = [0.0, 3.0, 0.95, 9.81];
    let impacts = 49;
    let taus = impact_times(&p, impacts + 1).unwrap();
    let t_end = 0.5 * (taus[impacts - 1] + taus[impacts]);
    assert_eq!(impacts_until(&p, t_end).unwrap(), impacts);
    let opts = tight();
    let sim = simulate(&p, t_end, &opts).unwrap();
    assert_eq!(sim.events.len(), impacts);
    for (e, tau) in sim.events.iter().zip(&taus) {
        assert!((e.t - tau).abs() <= 1e-10 * tau, "{} vs {tau}", e.t);
    }
    let loss = BallLoss::new(
        Kind::Terminal {
            alpha: 1.0,
            beta: 0.5,
        },
        t_end,
    );
    let fwd = forward_gradient(&p, t_end, &loss, &opts).unwrap();
    let adj = adjoint_gradient(&p, t_end, &loss, &opts).unwrap();
    let bits =
        |ev: &[hybrid_core::EventRecord]| ev.iter().map(|e| e.t.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fwd.events), bits(&sim.events));
    assert_eq!(bits(&adj.events), bits(&sim.events));
    let exact = dual_gradient(&p, |pd| loss.exact(pd));
    assert!(
        max_rel_dev(&fwd.gradient, &exact) < 1e-8,
        "{:?} vs {exact:?}",
        fwd.gradient
    );
    assert!(
        max_rel_dev(&adj.gradient, &exact) < 1e-8,
        "{:?} vs {exact:?}",
        adj.gradient
    );
}
