"""The training recipe's pieces: membrane time constants as options, random shifts."""

import pytest
import torch

from neuropipe.models.records import TrainConfig
from neuropipe.models.training import random_shift
from neuropipe.models.zoo import MODELS, ModelOptions, build_model


def test_random_shift_moves_whole_images_and_fills_with_zeros():
    x = torch.arange(1, 2 * 16 + 1, dtype=torch.float32).reshape(2, 1, 4, 4)
    out = random_shift(x, 1, torch.Generator().manual_seed(0))
    offsets = torch.randint(0, 3, (2, 2), generator=torch.Generator().manual_seed(0)) - 1
    for i in range(2):
        dy, dx = int(offsets[0, i]), int(offsets[1, i])
        expected = torch.zeros(4, 4)
        for r in range(4):
            for c in range(4):
                if 0 <= r + dy < 4 and 0 <= c + dx < 4:
                    expected[r, c] = x[i, 0, r + dy, c + dx]
        assert torch.equal(out[i, 0], expected)
    assert random_shift(x, 0, torch.Generator()) is x


def test_tau_option_sets_every_lif_layer_and_old_configs_keep_5():
    model = build_model("snn-cnn", ModelOptions(timesteps=2, tau_mem=4.0))
    decays = [float(m.p.tau_mem_inv) for m in model.net if hasattr(m, "p")]
    assert decays == [0.25] * 4
    default = build_model("snn-cnn", ModelOptions(timesteps=2))
    assert [float(m.p.tau_mem_inv) for m in default.net if hasattr(m, "p")] == \
        pytest.approx([1.0 / MODELS["snn-cnn"].default_tau] * 4)
    # A config.json written before tau_mem and shift existed: the values those runs had.
    old = TrainConfig.from_dict({k: v for k, v in TrainConfig(model="snn-cnn").to_dict().items()
                                 if k not in ("tau_mem", "shift")})
    assert old.tau_mem == 5.0 and old.shift == 0


def test_tau_of_a_model_without_one_is_an_error():
    with pytest.raises(ValueError, match="no membrane time constant"):
        MODELS["mlp"].tau(ModelOptions())


def _widths(model) -> list[tuple[int, ...]]:
    return [tuple(m.weight.shape) for m in model.net if hasattr(m, "weight")]


def test_snn_cnn_channels_and_hidden_set_its_widths_and_old_runs_keep_16_32_128():
    from neuropipe.models.checkpoint import model_options

    small = build_model("snn-cnn", ModelOptions(timesteps=2, channels=(4, 6), hidden=12))
    assert _widths(small) == [(4, 1, 5, 5), (6, 4, 5, 5), (12, 6 * 7 * 7), (10, 12)]
    default = [(16, 1, 5, 5), (32, 16, 5, 5), (128, 32 * 7 * 7), (10, 128)]
    assert _widths(build_model("snn-cnn", ModelOptions(timesteps=2))) == default
    # A run saved before snn-cnn took --channels and --hidden: both unset, 16-32 and 128 units.
    old = TrainConfig.from_dict({k: v for k, v in TrainConfig(model="snn-cnn").to_dict().items()
                                 if k not in ("channels", "batch_norm")})
    assert old.channels is None and old.hidden is None and old.batch_norm is False
    assert _widths(build_model("snn-cnn", model_options(old))) == default
    new = TrainConfig(model="snn-cnn", channels=[4, 6], hidden=12)
    assert _widths(build_model("snn-cnn", model_options(new))) == _widths(small)
    assert model_options(TrainConfig(model="mlp")).channels is None


def test_channels_of_a_model_without_them_is_an_error():
    with pytest.raises(ValueError, match="no channels option"):
        MODELS["snn-mlp"].channels(ModelOptions())
