import pytest
import torch

from neuropipe.core.errors import InputError, ModelError
from neuropipe.models.local import LocalLearner
from neuropipe.models.snn import SpikingNet
from neuropipe.models.zoo import MODELS, ModelOptions, build_model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shapes(name):
    model = build_model(name, ModelOptions(timesteps=3))
    out = model(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 10)
    if MODELS[name].kind == "snn" and MODELS[name].learning == "backprop":
        assert isinstance(model, SpikingNet)
        # Output spike counts: whole numbers between 0 and the number of steps.
        assert torch.all(out == out.round()) and out.min() >= 0 and out.max() <= 3
    elif MODELS[name].kind == "snn":  # learns locally; untrained readout scores
        assert isinstance(model, LocalLearner) and torch.isfinite(out).all()


@pytest.mark.parametrize("neuron", ["lif", "cuba"])
@pytest.mark.parametrize("encoding", ["constant", "poisson", "rate", "latency"])
def test_spiking_options(neuron, encoding):
    model = build_model("snn-mlp", ModelOptions(timesteps=4, encoding=encoding, neuron=neuron))
    x = torch.rand(2, 1, 28, 28)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(model(x, generator=g1), model(x, generator=g2))


def test_bad_model_and_options():
    with pytest.raises(ModelError, match="unknown model 'resnet'.*mlp, cnn, snn-mlp, snn-cnn"):
        build_model("resnet")
    with pytest.raises(InputError, match="unknown encoding 'morse'"):
        build_model("snn-mlp", ModelOptions(encoding="morse"))
    with pytest.raises(InputError, match="unknown neuron model 'izhikevich'"):
        build_model("snn-mlp", ModelOptions(neuron="izhikevich"))
    with pytest.raises(InputError, match="--timesteps must be at least 1"):
        build_model("snn-mlp", ModelOptions(timesteps=0))


@pytest.mark.parametrize("name", ["snn-mlp", "snn-cnn"])
def test_lean_lif_step_matches_norses_own_step(name, monkeypatch):
    import neuropipe.models.snn as snn

    torch.manual_seed(0)
    model = build_model(name, ModelOptions(timesteps=12))
    for p in model.parameters():  # enough input that neurons spike
        p.data.mul_(20.0)
    x = torch.rand(8, 1, 28, 28)

    def counts_and_grads():
        model.zero_grad()
        out = model(x)
        model.loss_logits(out).logsumexp(1).sum().backward()
        return out.detach(), [p.grad.clone() for p in model.parameters()]

    lean_out, lean_grads = counts_and_grads()
    monkeypatch.setattr(snn, "_lean_box_parameters", lambda module: None)  # norse's own step
    model._cached_plan = None  # work the plan out again, now without the lean step
    norse_out, norse_grads = counts_and_grads()
    assert lean_out.sum() > 0 and torch.equal(lean_out, norse_out)  # bit-identical spikes
    for a, b in zip(lean_grads, norse_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("encoding", ["constant", "poisson"])
@pytest.mark.parametrize("name", ["snn-mlp", "snn-cnn"])
def test_layer_by_layer_run_matches_norses_step_by_step_run(name, encoding):
    """SpikingNet runs each layer over all steps; norse's SequentialState steps the network."""
    from neuropipe.models.encoding import encode_step

    torch.manual_seed(0)
    model = build_model(name, ModelOptions(timesteps=6, encoding=encoding))
    for p in model.parameters():  # enough input that neurons spike
        p.data.mul_(20.0)
    x = torch.rand(5, 1, 28, 28)
    generator = torch.Generator().manual_seed(3)
    counts = model(x, generator=generator)
    model.zero_grad()
    model.loss_logits(counts).logsumexp(1).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]

    generator.manual_seed(3)
    model.zero_grad()
    state, reference = None, 0
    for step in range(6):
        out, state = model.net(encode_step(x, encoding, generator, step, 6), state)
        reference = reference + out
    model.loss_logits(reference).logsumexp(1).sum().backward()
    assert counts.sum() > 0 and torch.equal(counts, reference.detach())  # the same spikes
    for got, expected in zip(grads, [p.grad for p in model.parameters()], strict=True):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_lif_steps_spikes_by_hand():
    """Constant current 1.5, decay 0.5, threshold 1: v = 0.75, 1.125 (spike, reset to 0), ..."""
    from neuropipe.models.snn import LIFSteps

    spikes = LIFSteps.apply(torch.full((1, 1), 1.5), 0.5, 1.0, 6, True)
    assert spikes.flatten().tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 1.0]


@pytest.mark.parametrize("constant", [True, False])
@pytest.mark.parametrize("tau", [2.0, 5.0])
def test_lif_steps_matches_norses_cell(constant, tau):
    """LIFSteps' in-place steps against norse's LIFBoxCell: the same spikes, close gradients."""
    from neuropipe.models.snn import LIFSteps, make_cell

    torch.manual_seed(1)
    steps, batch = 7, 6
    current = (torch.randn(batch if constant else steps * batch, 3, 4) * 2 + 0.8)
    grad_out = torch.randn(steps * batch, 3, 4)
    fused_in = current.clone().requires_grad_()
    fused = LIFSteps.apply(fused_in, 1.0 / tau, 1.0, steps, constant)
    fused.backward(grad_out)

    cell, state, outs = make_cell("lif", tau, 2.0), None, []
    norse_in = current.clone().requires_grad_()
    for step in range(steps):
        now = norse_in if constant else norse_in[step * batch:(step + 1) * batch]
        out, state = cell(now, state)
        outs.append(out)
    norse = torch.cat(outs)
    norse.backward(grad_out)
    assert 0 < fused.sum() < fused.numel() and torch.equal(fused, norse)
    torch.testing.assert_close(fused_in.grad, norse_in.grad, rtol=1e-5, atol=1e-6)
