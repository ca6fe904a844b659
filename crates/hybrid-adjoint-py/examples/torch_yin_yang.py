"""Train Yin-Yang with a loss written in PyTorch, through the ``torch.autograd.Function`` adapter.

    python crates/hybrid-adjoint-py/examples/torch_yin_yang.py [--epochs 5] [--train-samples 5000]

The network (5-200-3, all spiking, Table 3's initialisation) runs in Rust; the loss, eq. (3) of
the EventProp paper on the output neurons' first spike times, is written in ``torch``, and
``loss.backward()`` fills the weights' ``.grad`` with the exact EventProp gradient
(``hybrid_adjoint.torch``); ``torch.optim.Adam`` steps. Runs on the CPU in float64.
"""

import argparse
import time

import numpy as np
import torch

import hybrid_adjoint as ha
from hybrid_adjoint.torch import spike_outputs

T_END = 60.0


def eq3_loss(t, labels, out, tau0=0.5, tau1=6.4, alpha=3e-3):
    """Eq. (3) on the first spike times of the output neurons ``out``: the cross-entropy of
    softmax(-t/tau0) plus alpha (exp(t_label/tau1) - 1). A silent neuron counts as spiking at
    the end of the simulation (no gradient flows through it)."""
    t = t[:, out]
    t = torch.where(torch.isfinite(t), t, torch.full_like(t, T_END))
    t_label = t.gather(1, labels[:, None])[:, 0]
    ce = torch.nn.functional.cross_entropy(-t / tau0, labels, reduction="none")
    return torch.mean(ce + alpha * (torch.exp(t_label / tau1) - 1.0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--train-samples", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    config = ha.default_config("yin_yang")
    config["limits"]["train"] = args.train_samples
    data = ha.load_data(config)
    train, val = data["train"], data["validation"]

    rng = np.random.default_rng(args.seed)
    net = ha.FeedForwardNet([rng.normal(1.5, 0.78, (200, 5)), rng.normal(0.93, 0.1, (3, 200))],
                            t_end=T_END)
    out = slice(net.neuron_offsets[-2], None)
    weights = [torch.tensor(w, requires_grad=True) for w in net.get_weights()]
    opt = torch.optim.Adam(weights, lr=5e-3, betas=(0.9, 0.999), eps=1e-8)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95)

    def accuracy(split):
        net.set_weights([w.detach().numpy() for w in weights])
        _, pred = net.evaluate(split["inputs"], split["labels"])
        return float(np.mean(pred == split["labels"]))

    print(f"torch {torch.__version__}; initial validation accuracy {accuracy(val):.3f}")
    for epoch in range(1, args.epochs + 1):
        start, losses = time.perf_counter(), []
        for idx in np.split(rng.permutation(len(train["labels"])),
                            range(32, len(train["labels"]), 32)):
            t, _ = spike_outputs(net, [train["inputs"][i] for i in idx], weights)
            loss = eq3_loss(t, torch.as_tensor(train["labels"][idx]), out)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, validation accuracy "
              f"{accuracy(val):.3f} ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"test accuracy {accuracy(data['test']):.3f}")


if __name__ == "__main__":
    main()
