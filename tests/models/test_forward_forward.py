"""ff: label embedding, goodness and loss by hand; the deployed stack is the trained classifier."""

import math

import pytest
import torch

from neuropipe.models import forward_forward
from neuropipe.models.forward_forward import (
    NEUTRAL,
    ForwardForward,
    embed,
    ff_loss,
    fold_centre,
    goodness,
    neutral,
    normalise,
)


def test_embed_and_goodness_by_hand():
    x = torch.full((2, 12), 0.5)
    out = embed(x, torch.tensor([3, 0]))
    assert out[0, :10].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] and out[0, 10:].tolist() == [
        0.5, 0.5]
    assert out[1, 0] == 1 and x[0, 3] == 0.5  # the input is not changed
    assert neutral(x)[0, :10].tolist() == pytest.approx([NEUTRAL] * 10)
    assert neutral(x)[0, 10:].tolist() == [0.5, 0.5]
    assert goodness(torch.tensor([[1.0, 2.0, 0.0, 3.0]])).tolist() == [14 / 4]


def test_goodness_loss_on_a_hand_made_batch():
    # theta 2: a positive at goodness 2 and one at 4, negatives at 0 and 2.
    # softplus(0) + softplus(-2) + softplus(-2) + softplus(0), averaged over the 2 pairs.
    loss = ff_loss(torch.tensor([2.0, 4.0]), torch.tensor([0.0, 2.0]), theta=2.0)
    expected = (2 * math.log(2) + 2 * math.log1p(math.exp(-2))) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)


def test_normalise_centres_then_gives_unit_rms():
    out = normalise(torch.tensor([[1.0, 3.0, 5.0, 7.0], [2.0, 2.0, 2.0, 2.0]]))
    # Centred: (-3, -1, 1, 3), RMS sqrt(20 / 4) = sqrt(5).
    assert out[0].tolist() == pytest.approx([v / math.sqrt(5) for v in (-3, -1, 1, 3)],
                                            rel=1e-5)
    assert out[1].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_the_centring_folds_into_the_weight():
    w = torch.tensor([[1.0, 2.0, 6.0], [0.0, -3.0, 3.0]])
    assert fold_centre(w).tolist() == [[-2.0, -1.0, 3.0], [0.0, -3.0, 3.0]]
    u = torch.tensor([[4.0, 1.0, 1.0]])  # centred: (2, -1, -1)
    assert (u @ fold_centre(w).T).tolist() == [[-6.0, 0.0]]


def _images(n: int) -> torch.Tensor:
    x = torch.rand(n, 1, 28, 28)
    x[:, 0, 0, :10] = 0  # MNIST's first pixels are 0
    return x


def test_the_neutral_label_folds_into_the_first_bias():
    torch.manual_seed(0)
    model = ForwardForward(hidden=8, layers=1)
    flat = _images(5).reshape(5, -1)
    expected = torch.relu(neutral(flat) @ model.ff_weight_1.T + model.ff_bias_1)
    assert torch.allclose(torch.relu(model[1](flat)), expected, atol=1e-5)
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "ReLU", "Linear"]


@pytest.mark.parametrize("read_first", [True, False])
@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_the_deployed_stack_computes_the_readout_of_the_normalised_layers(
        layers, read_first, monkeypatch):
    monkeypatch.setattr(forward_forward, "READ_FIRST", read_first)
    torch.manual_seed(1)
    model = ForwardForward(hidden=6, layers=layers)
    reads = len(model.read_layers())
    model.readout_weight.copy_(torch.randn(10, 6 * reads))
    model.readout_bias.copy_(torch.randn(10))
    with torch.no_grad():
        model._fold()
        x = _images(7)
        flat = x.reshape(7, -1)
        # What training computes: each layer on the normalised layer below (neutral label).
        trained = model.activities(flat, None)
        deployed = model.features(flat).split(6, dim=1)
        for k, u in zip(model.read_layers(), deployed, strict=True):
            # The un-normalised chain differs by a positive factor per sample only.
            h = trained[k - 1]
            factor = u.norm(dim=1) / h.norm(dim=1)
            assert (factor > 0).all()
            assert torch.allclose(u, factor[:, None] * h, atol=1e-5)
        scores = model.features(flat) @ model.readout_weight.T + model.readout_bias
        assert torch.allclose(model(x), scores, atol=1e-4)
    names = [type(m).__name__ for m in model]
    assert names == ["Flatten"] + ["Linear", "ReLU"] * layers + ["Linear"]
    assert model.read_layers() == list(range(1 if read_first or layers == 1 else 2, layers + 1))


def test_an_epoch_moves_every_layer_and_solves_the_readout():
    torch.manual_seed(0)
    model = ForwardForward(hidden=16, layers=3)
    x = _images(64)
    y = torch.arange(64) % 10
    before = [w.clone() for w in model.ff_weights()]
    result = model.fit_epoch(x, y, batch_size=16, seed=1)
    assert result.samples == 64
    assert all(not torch.equal(b, w) for b, w in zip(before, model.ff_weights(), strict=True))
    # The readout is the least-squares fit to one-hot targets with an unshrunk intercept: its
    # mean score per class is the class frequency, 7/64 or 6/64 here.
    with torch.no_grad():
        scores = model(x)
    assert torch.allclose(scores.mean(0), torch.bincount(y, minlength=10) / 64, atol=1e-4)
    # Hard negatives: the wrong class the readout scores highest, never the true one.
    hard = model.hard_labels
    assert (hard != y).all()
    scores[torch.arange(64), y] = -math.inf
    assert torch.equal(hard, scores.argmax(1))
    assert model.learner_state()["epochs_done"] == 1
