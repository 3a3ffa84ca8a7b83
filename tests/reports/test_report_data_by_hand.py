"""``report.csv`` and ``report.json`` of a hand-made report: every number lands in its row.

The report is built from records directly (no comparison runs), so each value below is one
put in by hand; the two derived ones are ``figure_j`` = total 0.75 J - off-level 0.25 J = 0.5 J
and ``joules_pue`` = 0.003 kWh x 3.6e6 J/kWh = 10,800 J. The second record of each kind has
nothing to name: ``-`` stands in for a missing run, baseline or plain counterpart, and an
unknown figure is an empty cell (issue 23: mutants of ``reports/report/data.py``).
"""
# ruff: noqa: E501 (the expected CSV lines are longer than a code line)

import csv
import io
import json

from neuropipe.reports.answer import Answer, AnswerLine
from neuropipe.reports.aspects import AspectRow
from neuropipe.reports.comparison import (
    BreakEven,
    Comparison,
    ConfigRow,
    EnergyReport,
    EstimateRow,
    LayerRow,
    Selection,
    TrainingRow,
)
from neuropipe.reports.learning_views import SparsityPoint, TrainingChoice
from neuropipe.reports.report.data import CSV_COLUMNS, render_csv, render_json
from neuropipe.reports.rows import MissingTarget
from neuropipe.reports.spike_ties import SpikeTie

EXPECTED = """\
section,run,model,kind,target,layer,level,cost_model,quantity,value,unit,note
report,,,,,,,,threshold,0.95,fraction,given
configuration,r,snn-mlp,snn,loihi,,,,accuracy,0.96,fraction,
configuration,r,snn-mlp,snn,loihi,,,,reference_accuracy,0.97,fraction,
configuration,r,snn-mlp,snn,loihi,,,,samples,100,images,
configuration,r,snn-mlp,snn,loihi,,,,timesteps,16,steps,
configuration,r,snn-mlp,snn,loihi,,,,synops,1234.0,1/inference,
configuration,r,snn-mlp,snn,loihi,,,,neuron_updates,567.0,1/inference,
configuration,r,snn-mlp,snn,loihi,,,,host_macs,89.0,1/inference,
configuration,r,snn-mlp,snn,loihi,,,,spikes,12.0,1/inference,
configuration,r,snn-mlp,snn,loihi,,,,packets,,1/inference,
configuration,r,snn-mlp,snn,loihi,,,,latency_s,0.002,s,
configuration,r,snn-mlp,snn,loihi,,,,cores,3,cores,
configuration,r,snn-mlp,snn,loihi,,,,chips,1,chips,
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,figure_j,0.5,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,total_j,0.75,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,device_j,0.375,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,static_j,0.125,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,host_j,0.25,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,chip,loihi1,off_level_j,0.25,J,"default; chip + system-level terms; not estimated: io, dram"
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,figure_j,2.5,J,system
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,total_j,2.5,J,system
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,device_j,2.5,J,system
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,static_j,0.0,J,system
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,host_j,0.0,J,system
energy-per-inference,r,snn-mlp,snn,loihi,,system,s2,off_level_j,0.0,J,system
layer,r,snn-mlp,snn,loihi,fc1,,,neurons,10,1/inference,dense
layer,r,snn-mlp,snn,loihi,fc1,,,synops,1000.0,1/inference,dense
layer,r,snn-mlp,snn,loihi,fc1,,,host_macs,0.0,1/inference,dense
layer,r,snn-mlp,snn,loihi,fc1,,,neuron_updates,160.0,1/inference,dense
layer,r,snn-mlp,snn,loihi,fc1,,,spikes,7.0,1/inference,dense
training,r,snn-mlp,snn,loihi,,,,joules,7200.0,J,measured
training,r,snn-mlp,snn,loihi,,,,kwh,0.002,kWh,measured
training,r,snn-mlp,snn,loihi,,,,pue,1.5,,measured
training,r,snn-mlp,snn,loihi,,,,kwh_pue,0.003,kWh,measured
training,r,snn-mlp,snn,loihi,,,,joules_pue,10800.0,J,measured
training,r,snn-mlp,snn,loihi,,,,co2e_kg,0.0015,kg,measured
missing,q,,,spinnaker,,,,,,,no deployment
equal-accuracy,r,,,loihi,,chip,loihi1,accuracy,0.96,fraction,bio-inspired; baseline: m on cpu (same target); c
equal-accuracy,r,,,loihi,,chip,loihi1,energy_j,0.5,J,bio-inspired; baseline: m on cpu (same target); c
equal-accuracy,r,,,loihi,,chip,loihi1,baseline_energy_j,2.0,J,bio-inspired; baseline: m on cpu (same target); c
equal-accuracy,r,,,loihi,,chip,loihi1,ratio,0.25,,bio-inspired; baseline: m on cpu (same target); c
equal-accuracy,,,,spinnaker,,board,,accuracy,,fraction,bio-inspired; baseline: - on - (-); none reaches
equal-accuracy,,,,spinnaker,,board,,energy_j,,J,bio-inspired; baseline: - on - (-); none reaches
equal-accuracy,,,,spinnaker,,board,,baseline_energy_j,,J,bio-inspired; baseline: - on - (-); none reaches
equal-accuracy,,,,spinnaker,,board,,ratio,,,bio-inspired; baseline: - on - (-); none reaches
answer,,,,,,chip,,bio_j,0.5,J,bio-inspired: r on loihi; conventional: m on cpu; f
answer,,,,,,chip,,conventional_j,2.0,J,bio-inspired: r on loihi; conventional: m on cpu; f
answer,,,,,,chip,,ratio,0.25,,bio-inspired: r on loihi; conventional: m on cpu; f
answer,,,,,,system,,bio_j,,J,bio-inspired: -; conventional: -; no pair
answer,,,,,,system,,conventional_j,,J,bio-inspired: -; conventional: -; no pair
answer,,,,,,system,,ratio,,,bio-inspired: -; conventional: -; no pair
spike-tie,r,,snn,loihi,,chip,loihi1,synapses,400,synapses,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,synops,1234.0,1/inference,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,rate,3.085,spikes/synapse/inference,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,energy_j,0.5,J,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,spike_j,0.25,J,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,fixed_j,0.25,J,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,baseline_j,2.0,J,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,tie_synops,8638.0,1/inference,ties; baseline: m on cpu
spike-tie,r,,snn,loihi,,chip,loihi1,tie_rate,21.595,spikes/synapse/inference,ties; baseline: m on cpu
break-even,r,,,loihi,,chip,loihi1,training_j,100.0,J,pays-back; baseline: m
break-even,r,,,loihi,,chip,loihi1,inference_j,0.5,J,pays-back; baseline: m
break-even,r,,,loihi,,chip,loihi1,baseline_training_j,10.0,J,pays-back; baseline: m
break-even,r,,,loihi,,chip,loihi1,baseline_inference_j,2.0,J,pays-back; baseline: m
break-even,r,,,loihi,,chip,loihi1,n,60.0,inferences,pays-back; baseline: m
break-even,r,,,loihi,,system,s2,training_j,100.0,J,no-baseline; baseline: -
break-even,r,,,loihi,,system,s2,inference_j,2.5,J,no-baseline; baseline: -
break-even,r,,,loihi,,system,s2,baseline_training_j,,J,no-baseline; baseline: -
break-even,r,,,loihi,,system,s2,baseline_inference_j,,J,no-baseline; baseline: -
break-even,r,,,loihi,,system,s2,n,,inferences,no-baseline; baseline: -
training-at-equal-accuracy,r,snn-mlp,,loihi,,,,accuracy,0.96,fraction,backprop; reaches threshold: True; baseline: m
training-at-equal-accuracy,r,snn-mlp,,loihi,,,,training_j,10800.0,J,backprop; reaches threshold: True; baseline: m
training-at-equal-accuracy,r,snn-mlp,,loihi,,,,ratio,2.5,,backprop; reaches threshold: True; baseline: m
training-at-equal-accuracy,s,stdp,,cpu,,,,accuracy,0.9,fraction,stdp; reaches threshold: False; baseline: -
training-at-equal-accuracy,s,stdp,,cpu,,,,training_j,50.0,J,stdp; reaches threshold: False; baseline: -
training-at-equal-accuracy,s,stdp,,cpu,,,,ratio,,,stdp; reaches threshold: False; baseline: -
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,rate_penalty,0.1,,
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,accuracy,0.96,fraction,
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,spikes,12.0,1/inference,
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,synops,1234.0,1/inference,
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,energy_j,0.75,J,
sparsity,r,snn-mlp,snn,loihi,,chip,loihi1,device_j,0.5,J,
aspect,r,snn-mlp,,loihi,,,,accuracy_diff,-0.01,fraction,sparse activity: rate penalty 0.1; plain: p
aspect,r,snn-mlp,,loihi,,,,input_spikes,0.0,1/inference,sparse activity: rate penalty 0.1; plain: p
aspect,r,snn-mlp,,loihi,,chip,loihi1 / loihi1,energy_ratio,0.5,,sparse activity: rate penalty 0.1; plain: p
aspect,s,stdp,,cpu,,,,accuracy_diff,,fraction,local learning: stdp; plain: -
aspect,s,stdp,,cpu,,,,input_spikes,3.0,1/inference,local learning: stdp; plain: -
"""


def report():
    e = EstimateRow(cost_model="loihi1", level="chip", default=True, total_j=0.75,
                    device_j=0.375, static_j=0.125, host_j=0.25, term_levels=["chip", "system"],
                    not_estimated=["io", "dram"], off_level_j=0.25)
    e2 = EstimateRow(cost_model="s2", level="system", total_j=2.5, device_j=2.5,
                     term_levels=["system"])
    c = ConfigRow(
        run="r", model="snn-mlp", kind="snn", dataset="mnist", target="loihi", accuracy=0.96,
        reference_accuracy=0.97, samples=100, timesteps=16, synops=1234.0,
        neuron_updates=567.0, host_macs=89.0, spikes=12.0, packets=None, latency_s=0.002,
        cores=3, chips=1, estimates=[e, e2],
        layers=[LayerRow(name="fc1", kind="dense", neurons=10, synops=1000.0, host_macs=0.0,
                         neuron_updates=160.0, spikes=7.0)],
        training=TrainingRow(joules=7200.0, kwh=0.002, kwh_pue=0.003, co2e_kg=0.0015, pue=1.5,
                             methods={"cpu": "rapl"}))
    comparison = Comparison(dataset="mnist", runs=["r"], configs=[c],
                            missing=[MissingTarget(run="q", target="spinnaker")])
    return EnergyReport(
        comparison=comparison, threshold=0.95, threshold_source="given",
        selection=[
            Selection(target="loihi", level="chip", run="r", accuracy=0.96, cost_model="loihi1",
                      energy_j=0.5, baseline_run="m", baseline_target="cpu",
                      baseline_basis="same target", baseline_energy_j=2.0, ratio=0.25,
                      comment="c", side="bio-inspired"),
            Selection(target="spinnaker", level="board", comment="none reaches")],
        answer=Answer(lines=[
            AnswerLine(level="chip", bio="r on loihi", conventional="m on cpu", bio_j=0.5,
                       conventional_j=2.0, ratio=0.25, fact="f"),
            AnswerLine(level="system", reason="no pair")]),
        spike_ties=[SpikeTie(
            run="r", target="loihi", level="chip", cost_model="loihi1", synapses=400,
            synops=1234.0, rate=3.085, energy_j=0.5, spike_j=0.25, fixed_j=0.25,
            baseline_run="m", baseline_target="cpu", baseline_j=2.0, tie_synops=8638.0,
            tie_rate=21.595, verdict="ties")],
        break_even=[
            BreakEven(run="r", target="loihi", level="chip", cost_model="loihi1",
                      training_j=100.0, inference_j=0.5, baseline_run="m",
                      baseline_training_j=10.0, baseline_inference_j=2.0, n=60.0,
                      verdict="pays-back"),
            BreakEven(run="r", target="loihi", level="system", cost_model="s2",
                      training_j=100.0, inference_j=2.5)],
        training_choice=[
            TrainingChoice(run="r", model="snn-mlp", learning="backprop", accuracy=0.96,
                           target="loihi", training_j=10800.0, reaches=True, baseline_run="m",
                           ratio=2.5),
            TrainingChoice(run="s", model="stdp", learning="stdp", accuracy=0.9, target="cpu",
                           training_j=50.0)],
        sparsity=[SparsityPoint(model="snn-mlp", target="loihi", run="r", rate_penalty=0.1,
                                accuracy=0.96, spikes=12.0, synops=1234.0, energy_j=0.75,
                                device_j=0.5, level="chip", cost_model="loihi1")],
        aspects=[
            AspectRow(aspect="sparse activity", setting="rate penalty 0.1", run="r",
                      model="snn-mlp", target="loihi", accuracy_diff=-0.01, input_spikes=0.0,
                      plain_run="p", ratios={"chip": 0.5},
                      cost_models={"chip": "loihi1 / loihi1"}),
            AspectRow(aspect="local learning", setting="stdp", run="s", model="stdp",
                      target="cpu", accuracy_diff=None, input_spikes=3.0)])


def test_every_number_of_the_report_in_its_csv_row():
    text = render_csv(report())
    assert text == EXPECTED  # lines end in "\n", not the csv module's "\r\n"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS and len(rows) == len(EXPECTED.splitlines()) - 1


def test_report_json_is_the_record_indented_by_two():
    rep = report()
    text = render_json(rep)
    assert text.startswith('{\n  "') and text.endswith("}\n")
    assert '\n    "dataset": "mnist"' in text  # a nested field: two more spaces
    assert EnergyReport.from_dict(json.loads(text)) == rep
