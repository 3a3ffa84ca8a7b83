import pytest
import torch

from neuropipe.models.snn import SpikingNet
from neuropipe.models.zoo import MODELS, ModelOptions, build_model
from neuropipe.pipeline.errors import InputError, ModelError


@pytest.mark.parametrize("name", sorted(MODELS))
def test_forward_shapes(name):
    model = build_model(name, ModelOptions(timesteps=3))
    out = model(torch.rand(4, 1, 28, 28))
    assert out.shape == (4, 10)
    if MODELS[name].kind == "snn":
        assert isinstance(model, SpikingNet)
        # Output spike counts: whole numbers between 0 and the number of steps.
        assert torch.all(out == out.round()) and out.min() >= 0 and out.max() <= 3


@pytest.mark.parametrize("neuron", ["lif", "cuba"])
@pytest.mark.parametrize("encoding", ["constant", "poisson"])
def test_spiking_options(neuron, encoding):
    model = build_model("snn-mlp", ModelOptions(timesteps=4, encoding=encoding, neuron=neuron))
    x = torch.rand(2, 1, 28, 28)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    assert torch.equal(model(x, generator=g1), model(x, generator=g2))


def test_bad_model_and_options():
    with pytest.raises(ModelError, match="unknown model 'resnet'.*mlp, cnn, snn-mlp, snn-cnn"):
        build_model("resnet")
    with pytest.raises(InputError, match="unknown encoding 'latency'"):
        build_model("snn-mlp", ModelOptions(encoding="latency"))
    with pytest.raises(InputError, match="unknown neuron model 'izhikevich'"):
        build_model("snn-mlp", ModelOptions(neuron="izhikevich"))
    with pytest.raises(InputError, match="--timesteps must be at least 1"):
        build_model("snn-mlp", ModelOptions(timesteps=0))
