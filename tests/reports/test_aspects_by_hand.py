"""Which plain counterpart each aspect is set against, and the ratios, by hand.

Each case has a wrong counterpart within reach whose ratio differs from the right one's, so a
wrong choice gives another figure (issue 23: mutants of ``reports/aspects.py``).
"""

import pytest

from neuropipe.reports.aspects import aspect_rows, is_plain
from neuropipe.reports.comparison import ConfigRow, EstimateRow, TrainingRow


def row(run, model, kind, target, acc, chip, encoding="constant", penalty=0.0,
        learning="backprop", modules=1):
    est = EstimateRow(cost_model="m", level="chip", default=True, total_j=chip, device_j=chip,
                      term_levels=["chip"])
    return ConfigRow(run=run, model=model, kind=kind, dataset="mnist", target=target,
                     accuracy=acc, samples=10**6, estimates=[est], encoding=encoding,
                     rate_penalty=penalty, learning=learning, modules=modules,
                     training=TrainingRow(methods={"cpu": "estimate"}))


def by_key(rows):
    return {(r.aspect, r.run): r for r in rows}


def test_a_models_own_plain_form_or_the_familys_by_aspect():
    rows = by_key(aspect_rows([
        row("snn", "snn-mlp", "snn", "loihi", 0.97, 2e-6),
        row("cnn", "snn-cnn", "snn", "loihi", 0.98, 8e-6),
        # a spike code is set against the same model: 2e-6 / 8e-6 = 0.25 (snn-mlp's: 1.0)
        row("cnn-lat", "snn-cnn", "snn", "loihi", 0.96, 2e-6, encoding="latency"),
        # modules=2 is not plain, though the most accurate snn-mlp: 1e-6 / 2e-6 = 0.5 against
        # "snn" (were it plain, lsm-p's sparse row would read 5e-6 / 1e-6 = 5)
        row("mod2", "snn-mlp", "snn", "loihi", 0.99, 1e-6, modules=2),
        # a rate penalty on a model whose design is an aspect: against the family's snn-mlp,
        # 5e-6 / 2e-6 = 2.5 (lsm itself has no plain, backprop form: no counterpart at all)
        row("lsm-p", "lsm", "snn", "loihi", 0.95, 5e-6, penalty=0.5, learning="ridge"),
    ]))
    assert set(rows) == {("spike code", "cnn-lat"), ("modularity", "mod2"),
                         ("sparse activity", "lsm-p"), ("recurrence", "lsm-p")}
    lat = rows["spike code", "cnn-lat"]
    assert lat.plain_run == "cnn" and lat.ratios == pytest.approx({"chip": 0.25})
    assert lat.accuracy_diff == pytest.approx(0.96 - 0.98)
    assert rows["modularity", "mod2"].plain_run == "snn"
    assert rows["modularity", "mod2"].ratios == pytest.approx({"chip": 0.5})
    for aspect in ("sparse activity", "recurrence"):
        r = rows[aspect, "lsm-p"]
        assert r.plain_run == "snn" and r.ratios == pytest.approx({"chip": 2.5}), aspect


def test_the_missing_counterpart_is_named():
    rows = by_key(aspect_rows([
        row("cnn-lat", "snn-cnn", "snn", "spinnaker", 0.96, 2e-6, encoding="latency"),
        row("lsm", "lsm", "snn", "spinnaker", 0.95, 5e-6, encoding="poisson", learning="ridge"),
        # a kind the families do not know: its own model is the plain form
        row("st", "stdp", "", "spinnaker", 0.9, 3e-6, learning="stdp"),
        row("p", "snn-mlp", "snn", "spinnaker", 0.9, 3e-6, penalty=0.1),
        # forward-forward learning on a model of its own: the family's plain mlp is missing
        row("ffs", "ff-cnn", "ann", "spinnaker", 0.9, 5e-6, learning="forward-forward"),
    ]))
    tail = "constant input, no rate penalty, backprop) compared on spinnaker"
    assert rows["spike code", "cnn-lat"].comment == f"no plain counterpart (snn-cnn, {tail}"
    assert rows["recurrence", "lsm"].comment == f"no plain counterpart (snn-mlp, {tail}"
    assert rows["local learning", "st"].comment == f"no plain counterpart (stdp, {tail}"
    assert rows["sparse activity", "p"].comment == f"no plain counterpart (snn-mlp, {tail}"
    assert rows["forward-only learning", "ffs"].comment == f"no plain counterpart (mlp, {tail}"


def test_older_records_and_analogue_input_are_plain():
    rows = by_key(aspect_rows([
        # "analogue" input is plain: lat-cpu against snn-an, 6e-6 / 4e-6 = 1.5
        row("snn-an", "snn-mlp", "snn", "cpu", 0.97, 4e-6, encoding="analogue"),
        row("lat-cpu", "snn-mlp", "snn", "cpu", 0.95, 6e-6, encoding="latency"),
        # "" (a record older than the field) is plain too: 3e-6 / 4e-6 = 0.75
        row("snn-old", "snn-mlp", "snn", "gpu", 0.97, 4e-6, encoding=""),
        row("lat-gpu", "snn-mlp", "snn", "gpu", 0.95, 3e-6, encoding="latency"),
        # learning "" (older record) is backprop; with an unknown kind the model's own runs are
        # its plain form: st-b against st-a, 6e-6 / 3e-6 = 2; st-a against st-b, 0.5
        row("st-a", "stdp", "", "loihi", 0.90, 3e-6, learning=""),
        row("st-b", "stdp", "", "loihi", 0.85, 6e-6, learning=""),
    ]))
    assert rows["spike code", "lat-cpu"].plain_run == "snn-an"
    assert rows["spike code", "lat-cpu"].ratios == pytest.approx({"chip": 1.5})
    assert rows["spike code", "lat-gpu"].plain_run == "snn-old"
    assert rows["spike code", "lat-gpu"].ratios == pytest.approx({"chip": 0.75})
    assert rows["local learning", "st-b"].plain_run == "st-a"
    assert rows["local learning", "st-b"].ratios == pytest.approx({"chip": 2.0})
    assert rows["local learning", "st-a"].plain_run == "st-b"
    assert rows["local learning", "st-a"].ratios == pytest.approx({"chip": 0.5})


def test_is_plain_by_default_takes_constant_analogue_and_unrecorded_input():
    for encoding in ("constant", "analogue", ""):
        assert is_plain(row("a", "snn-mlp", "snn", "loihi", 0.9, 1e-6, encoding=encoding))
    for encoding in ("latency", "sdnn", "XXXX"):
        assert not is_plain(row("a", "snn-mlp", "snn", "loihi", 0.9, 1e-6, encoding=encoding))
    assert not is_plain(row("a", "snn-mlp", "snn", "loihi", 0.9, 1e-6, modules=2))
    assert not is_plain(row("a", "snn-mlp", "snn", "loihi", 0.9, 1e-6, penalty=1e-9))
    assert not is_plain(row("a", "snn-mlp", "snn", "loihi", 0.9, 1e-6, learning="stdp"))


def test_every_aspect_row_keeps_its_own_figures_and_comment():
    plain = row("snn", "snn-mlp", "snn", "loihi", 0.97, 2e-6)
    lat = row("lat", "snn-mlp", "snn", "loihi", 0.95, 3e-6, encoding="latency")
    lat.synops, lat.input_spikes = 1234.0, 56.0
    # lat also has a system figure that the plain run lacks: compared at chip only
    lat.estimates.append(EstimateRow(cost_model="s", level="system", total_j=9e-3,
                                     device_j=9e-3, term_levels=["system"]))
    zero = row("zero", "snn-mlp", "snn", "spinnaker", 0.9, 1e-6)
    zero.estimates[0].off_level_j = 1e-6  # a figure of 0 J at chip: nothing to divide by
    rows = by_key(aspect_rows([
        plain, lat, zero,
        row("zp", "snn-mlp", "snn", "spinnaker", 0.89, 4e-6, penalty=0.3),
        # forward-forward learning on a model of its own: against the family's mlp
        row("ffc", "ff-cnn", "ann", "loihi", 0.9, 5e-6, learning="forward-forward"),
        row("mlp", "mlp", "ann", "loihi", 0.97, 1e-5),
        # two aspects and no counterpart for either: both rows are kept
        row("lsm-p", "lsm", "snn", "cpu", 0.9, 1e-6, penalty=0.2, learning="ridge"),
    ]))
    r = rows["spike code", "lat"]
    assert (r.accuracy, r.synops, r.input_spikes, r.plain_synops) == (0.95, 1234.0, 56.0, 0.0)
    assert r.ratios == pytest.approx({"chip": 1.5}) and r.comment == ""  # 3e-6 / 2e-6
    assert r.cost_models == {"chip": "m / m"}
    assert rows["sparse activity", "zp"].ratios == {}
    assert rows["sparse activity", "zp"].comment == "no level at which both have a figure"
    ffc = rows["forward-only learning", "ffc"]
    assert (ffc.setting, ffc.plain_run) == ("forward-forward", "mlp")
    assert ffc.ratios == pytest.approx({"chip": 0.5})  # 5e-6 / 1e-5
    assert {k for k in rows if k[1] == "lsm-p"} == {("recurrence", "lsm-p"),
                                                    ("sparse activity", "lsm-p")}


HOST_APART = ("work done on the host at another level (a first layer fed analogue pixels) is "
              "left out of the ratio at that level")


def two_levels(run, chip, system, chip_off=0.0, **kw):
    c = row(run, "snn-mlp", "snn", "loihi", 0.9, chip, **kw)
    c.estimates[0].off_level_j = chip_off
    c.estimates.append(EstimateRow(cost_model="s", level="system", total_j=system,
                                   device_j=system, term_levels=["system"]))
    return c


def test_levels_compared_one_by_one_and_host_work_apart():
    # the plain run's chip figure is 0 J (all of it at another level): chip is skipped (and
    # not commented on), system still compared, 6e-3 / 4e-3 = 1.5
    (r,) = aspect_rows([two_levels("snn", 1e-3, 4e-3, chip_off=1e-3),
                        two_levels("lat", 1e-6, 6e-3, encoding="latency")])
    assert r.ratios == pytest.approx({"system": 1.5}) and r.comment == ""
    # 0.25 uJ of host work at chip only (the first level): still named after system is
    # compared; chip without it, (7.5e-7 - 2.5e-7) / 2e-6 = 0.25, system 6e-3 / 4e-3 = 1.5
    (r,) = aspect_rows([two_levels("snn", 2e-6, 4e-3),
                        two_levels("lat", 7.5e-7, 6e-3, chip_off=2.5e-7, encoding="latency")])
    assert r.ratios == pytest.approx({"chip": 0.25, "system": 1.5})
    assert r.comment == HOST_APART
    (r,) = aspect_rows([two_levels("snn", 2e-6, 4e-3),
                        two_levels("lat", 1e-6, 6e-3, encoding="latency")])
    assert r.comment == ""


def test_rows_in_aspect_order_before_target_setting_and_run():
    rows = aspect_rows([
        row("snn-a", "snn-mlp", "snn", "alpha", 0.9, 1e-6),
        row("p", "snn-mlp", "snn", "alpha", 0.9, 1e-6, penalty=0.1),  # sparse, on "alpha"
        row("snn-z", "snn-mlp", "snn", "zeta", 0.9, 1e-6),
        row("lat", "snn-mlp", "snn", "zeta", 0.9, 1e-6, encoding="latency"),  # spike code
        row("lsm", "lsm", "snn", "alpha", 0.9, 1e-6, learning="ridge"),  # recurrence
    ])
    assert [(r.aspect, r.target) for r in rows] == [
        ("spike code", "zeta"), ("sparse activity", "alpha"), ("recurrence", "alpha")]
