"""ff: label embedding and goodness by hand; the folded neutral label is exact; one epoch learns."""

import torch

from neuropipe.models.forward_forward import NEUTRAL, ForwardForward, embed, goodness


def test_embed_and_goodness_by_hand():
    x = torch.full((2, 12), 0.5)
    out = embed(x, torch.tensor([3, 0]))
    assert out[0, :10].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] and out[0, 10:].tolist() == [
        0.5, 0.5]
    assert out[1, 0] == 1 and x[0, 3] == 0.5  # the input is not changed
    assert goodness(torch.tensor([[1.0, 2.0, 0.0, 3.0]])).tolist() == [14 / 4]


def test_the_deployed_stack_is_the_layer_read_with_the_neutral_label():
    torch.manual_seed(0)
    model = ForwardForward(hidden=8)
    x = torch.rand(5, 1, 28, 28)
    x[:, 0, 0, :10] = 0  # MNIST's first pixels are 0
    flat = x.reshape(5, -1)
    neutral = flat.clone()
    neutral[:, :10] = NEUTRAL
    expected = torch.relu(neutral @ model.ff_weight.T + model.ff_bias)
    assert torch.allclose(torch.relu(model[1](flat)), expected, atol=1e-5)
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "ReLU", "Linear"]


def test_an_epoch_moves_the_layer_and_solves_the_readout():
    torch.manual_seed(0)
    model = ForwardForward(hidden=16)
    x = torch.rand(64, 1, 28, 28)
    x[:, 0, 0, :10] = 0
    y = torch.arange(64) % 10
    before = model.ff_weight.clone()
    result = model.fit_epoch(x, y, batch_size=16, seed=1)
    assert not torch.equal(before, model.ff_weight) and result.samples == 64
    # The readout is the least-squares fit to one-hot targets (with an intercept): its mean
    # score per class is the class frequency, 7/64 or 6/64 here (up to the small ridge term).
    with torch.no_grad():
        mean_scores = model(x).mean(0)
    assert torch.allclose(mean_scores, torch.bincount(y, minlength=10) / 64, atol=2e-3)
