"""energy.report and the cost tables: hand computations, TrueNorth fit, bad input."""
import json
import math

import numpy as np
import pytest

from spikesim import energy
from spikesim.energy import tables
from spikesim.energy.report import report
from spikesim.sim import Counts

PJ = 1e-12


def make_counts(samples=2, duration_s=0.1, unfilled=(), **fields):
    c = Counts.empty(["in", "fc1", "lif1"], kinds={"in": "input", "fc1": "synapse",
                                                   "lif1": "neuron"},
                     samples=samples, duration_s=duration_s, source="hand", unfilled=unfilled)
    syn_fields = ("synops_ac", "synops_mac", "dense_ac", "dense_mac", "weight_reads",
                  "plasticity_updates")
    syn = {k: v for k, v in fields.items() if k in syn_fields}
    neu = {k: v for k, v in fields.items() if k not in syn}
    c.add("fc1", **syn)
    c.add("lif1", **neu)
    return c


def test_naive_estimate_equals_hand_computation():
    c = make_counts(samples=4, synops_ac=12_000, synops_mac=800)
    hand = (12_000 * 0.9 + 800 * 4.6) * PJ / 4
    rep = report(c, "cmos45nm", include_memory=False)
    assert rep.total[1] == pytest.approx(hand, rel=1e-12)
    assert rep.total[0] == rep.total[2] == pytest.approx(hand, rel=1e-12)
    assert energy.naive_estimate(c) == pytest.approx(hand, rel=1e-12)
    # neuron updates are priced unless switched off; the naive figure never includes them
    c.add("lif1", neuron_updates=1000)
    assert report(c, "cmos45nm", include_memory=False).total[1] == pytest.approx(
        hand + 1000 * 4.6 * PJ / 4)
    assert energy.naive_estimate(c) == pytest.approx(hand)


def test_memory_on_by_default_with_documented_proxies():
    c = make_counts(samples=1, synops_ac=1000, neuron_updates=100, spikes=7,
                    unfilled=("weight_reads", "state_reads", "state_writes"))
    rep = report(c, "cmos45nm")
    mem = rep.by_category()["memory"]
    # weight words = 1000 synops, state reads + writes = 2 x 100 neuron updates
    assert mem[1] == pytest.approx((1000 + 200) * 20 * PJ)
    assert mem[0] == pytest.approx((1000 + 200) * 5 * PJ)     # 32-bit half-width load
    assert mem[2] == pytest.approx((1000 + 200) * 100 * PJ)   # 1 MB SRAM
    assert any("weight_reads not counted" in n for n in rep.notes)
    # filled fields are used as they are (a zero is a measurement)
    c2 = make_counts(samples=1, synops_ac=1000, neuron_updates=100, weight_reads=10)
    assert report(c2, "cmos45nm").by_category()["memory"][1] == pytest.approx(10 * 20 * PJ)
    assert report(c2, "cmos45nm").total[1] > report(c2, "cmos45nm", include_memory=False).total[1]


def test_loihi_hand_computation_with_static():
    c = make_counts(samples=2, duration_s=0.05, synops_ac=2000, neuron_updates=400, spikes=30,
                    spikes_routed=30, hops=50)
    rep = report(c, "loihi")
    dyn = (2000 * 23.6 + 400 * 81 + 30 * 1.7 + 50 * 3.5) * PJ / 2
    assert rep.total[1] == pytest.approx(dyn + 0.104 * 0.05)
    low = (2000 * 23.6 + 400 * 52 + 30 * 1.7 + 50 * 3.0) * PJ / 2 + 0.104 * 0.05
    high = (2000 * 35.5 + 400 * 81 + 30 * 69.3 + 50 * 4.0) * PJ / 2 + 0.104 * 0.05
    assert rep.total[0] == pytest.approx(low) and rep.total[2] == pytest.approx(high)
    assert rep.by_category()["static"][1] == pytest.approx(0.104 * 0.05)
    assert report(c, "loihi", static=False).total[1] == pytest.approx(dyn)
    c.meta["chips"] = 2
    assert report(c, "loihi").by_category()["static"][1] == pytest.approx(2 * 0.104 * 0.05)
    # no duration: static omitted, with a note
    c0 = make_counts(duration_s=0.0, synops_ac=10)
    r0 = report(c0, "loihi")
    assert r0.by_category()["static"] == (0.0, 0.0, 0.0)
    assert any("no duration" in n for n in r0.notes)


def test_truenorth_fit_and_check_on_unused_figure():
    fit = energy.fit_truenorth()
    r_a = 4096 * 256 * 20 * 128
    assert fit.rate_A_hz == r_a
    assert fit.e_event_J == pytest.approx(2.5 * PJ)
    assert fit.p_static_W == pytest.approx(26 * PJ * r_a - 2.5 * PJ * r_a)   # 63.1 mW
    assert fit.power(r_a) == pytest.approx(26 * PJ * r_a)    # reproduces the point it used
    chk = energy.check_truenorth_fit(fit)
    # 46 GSOPS/W at 65 mW was not used by the fit: power within 10 % (it is +8.5 %)
    assert abs(chk["typical_rel_err"]) < 0.10
    assert chk["typical_all_in_pred_J"] == pytest.approx(fit.power(46e9 * 0.065) / (46e9 * 0.065))
    assert abs(chk["video_static_rel_excess"]) < 0.10 and chk["in_sweep"] == 1.0


def test_truenorth_report_never_uses_all_in_as_slope():
    tab = tables.get_table("truenorth")
    assert tab.entry("all_in_26pJ").all_in and tab.entry("all_in_26pJ").value == 26 * PJ
    assert "all-in, one operating point" in tab.entry("all_in_26pJ").note
    used = {r.entry for r in tab.rules}
    assert not any(tab.entry(e).all_in for e in used)
    c1 = make_counts(samples=1, duration_s=0.01, synops_ac=1_000_000)
    c2 = make_counts(samples=1, duration_s=0.01, synops_ac=2_000_000)
    e1, e2 = report(c1, "truenorth").total[1], report(c2, "truenorth").total[1]
    slope = (e2 - e1) / 1_000_000
    assert slope == pytest.approx(2.5 * PJ) and abs(slope - 26 * PJ) > 20 * PJ
    assert e1 == pytest.approx(energy.fit_truenorth().energy(0.01, 1_000_000))
    # a table that prices events with the all-in figure next to static power is refused
    with pytest.raises(ValueError, match="all-in"):
        tables.PlatformTable("bad", "bad", dict(tab.entries),
                             (tables.Rule("synops_ac", "all_in_26pJ", "compute", "x"),),
                             static="p_static")


def test_gpu_traffic_model_hand_computation():
    c = make_counts(samples=4, synops_ac=500, dense_ac=3000, dense_mac=1000, neuron_updates=200)
    rep = report(c, "gpu", weights={"fc1": 100}, batch_size=2)
    byte = 1.95e-9 / 8
    hand = ((3000 + 1000) * 4.6 * PJ + 200 * 4.6 * PJ        # dense MACs + neuron updates
            + 100 * 4 * 2 * byte                             # weights, once per batch, 2 batches
            + 2 * 200 * 4 * byte) / 4                        # activations written + read
    assert rep.total[1] == pytest.approx(hand)
    c.meta["weights"] = 100
    assert report(c, "gpu", batch_size=2).total[1] == pytest.approx(hand)
    assert report(c, "gpu", include_memory=False, weights=100).total[1] == pytest.approx(
        (4000 + 200) * 4.6 * PJ / 4)
    fp16 = report(c, "gpu", batch_size=2, precision="fp16")
    assert fp16.by_category()["compute"][1] == pytest.approx(4200 * 1.5 * PJ / 4)


def test_northpole_calibrated_all_in_per_mac():
    assert energy.northpole_energy_per_mac() == pytest.approx(1 / (571 * 4.1e9))
    assert energy.northpole_energy_per_mac() == pytest.approx(0.4271 * PJ, rel=1e-3)
    c = make_counts(samples=1, synops_ac=10, dense_ac=1000, dense_mac=24)
    rep = report(c, "northpole")
    assert rep.total[1] == pytest.approx(1024 / (571 * 4.1e9))
    assert rep.total[2] == pytest.approx(1024 / (571 * 3.8e9))
    assert rep.total[0] == pytest.approx(1024 * 74 / (42_460 * 4.1e9))
    # a dense-only backend may leave dense_ac unfilled: dense_mac alone is priced, with a note
    c2 = make_counts(samples=1, dense_mac=100, unfilled=("dense_ac", "synops_ac", "synops_mac"))
    r2 = report(c2, "northpole")
    assert r2.total[1] == pytest.approx(100 / (571 * 4.1e9))
    assert any("only dense_mac" in n for n in r2.notes)
    with pytest.raises(ValueError, match="dense_ac nor dense_mac"):
        report(make_counts(spikes=3, unfilled=("dense_ac", "dense_mac")), "northpole")
    with pytest.raises(ValueError, match="frames_per_joule"):
        energy.northpole_energy_per_mac(0)


def test_every_entry_is_sourced_and_low_nominal_high_ordered():
    for name in energy.PLATFORMS:
        tab = tables.get_table(name)
        assert tab.entries and tab.rules
        for ename, e in tab.entries.items():
            for x in (e, *e.alternatives):
                assert x.source and x.kind in tables.ENTRY_KINDS and x.tag in tables.TAGS
                assert x.unit in ("J/op", "J/word", "J/byte", "W")
            assert e.low <= e.nominal <= e.high
        json.dumps(tab.to_dict())
        assert name in tab.table() or tab.title in tab.table()
    assert tables.get_table("truenorth").entry("all_in_peak").recall
    assert tables.get_table("cmos45nm", precision="int8").entry("mac").value == pytest.approx(
        0.23 * PJ)


def test_report_outputs_table_dict_plot():
    c = make_counts(samples=2, synops_ac=1000, neuron_updates=100, spikes=5)
    rep = report(c, "loihi")
    d = rep.to_dict()
    json.dumps(d)
    assert d["total_J"] == pytest.approx(rep.total[1])
    assert set(d["by_category"]) == {"compute", "memory", "routing", "static"}
    assert "TOTAL" in rep.table() and "synaptic spike ops" in rep.table()
    assert repr(rep).startswith("EnergyReport(platform='loihi', total=")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = rep.plot()
    assert len(ax.patches) == 4
    assert rep.plot(log=True).get_yscale() == "log"
    reps = {p: report(c, p) for p in ("cmos45nm", "loihi", "truenorth")}
    ax2 = energy.plot_comparison(reps)
    assert len(ax2.patches) == 5 * 3       # 4 categories + total, 3 platforms
    # the last group of bars are the nominal totals (uJ)
    heights = [p.get_height() for p in ax2.patches[-3:]]
    assert heights == pytest.approx([r.total[1] * 1e6 for r in reps.values()])
    with pytest.raises(TypeError, match="EnergyReport"):
        energy.plot_comparison({"x": 1})
    import matplotlib.pyplot as plt
    plt.close("all")


def test_bad_input():
    c = make_counts(synops_ac=10)
    with pytest.raises(ValueError, match="known platforms.*cmos45nm.*gpu.*loihi.*northpole"):
        report(c, "spinnaker")
    with pytest.raises(ValueError, match="recorded nothing"):
        report(Counts.empty(["a"], source="clock"), "loihi")
    with pytest.raises(ValueError, match="no price for synops_mac=5"):
        report(make_counts(synops_ac=10, synops_mac=5), "loihi")
    with pytest.raises(ValueError, match="no price for plasticity_updates"):
        report(make_counts(synops_ac=10, plasticity_updates=3), "truenorth")
    with pytest.raises(ValueError, match="weights="):
        report(make_counts(dense_ac=10, neuron_updates=1), "gpu")
    # without memory the GPU needs no weight count, and unfilled memory fields need no proxy
    assert report(make_counts(dense_ac=10, neuron_updates=1), "gpu",
                  include_memory=False).total[1] == pytest.approx(11 * 4.6 * PJ / 2)
    r = report(make_counts(synops_ac=10, unfilled=("weight_reads",)), "cmos45nm",
               include_memory=False)
    assert not any("weight_reads" in n for n in r.notes)
    with pytest.raises(ValueError, match="did not fill 'synops_ac'"):
        report(make_counts(neuron_updates=4, unfilled=("synops_ac", "synops_mac")), "loihi")
    # an accumulate-only source: unfilled MACs are taken as 0 (noted)
    r = report(make_counts(synops_ac=10, unfilled=("synops_mac",)), "cmos45nm")
    assert any("synops_mac not counted" in n for n in r.notes)
    with pytest.raises(ValueError, match="precision"):
        report(c, "cmos45nm", precision="fp64")
    with pytest.raises(ValueError, match="no precision option"):
        report(c, "loihi", precision="int8")
    bad_chips = make_counts(synops_ac=10)
    bad_chips.meta["chips"] = 0
    with pytest.raises(ValueError, match="chips"):
        report(bad_chips, "loihi")
    assert report(make_counts(samples=np.int64(2), synops_ac=10), "loihi").samples == 2
    with pytest.raises(TypeError, match="Counts"):
        report({"synops_ac": 1}, "loihi")
    with pytest.raises(ValueError, match="kind"):
        tables.Entry(1.0, "W", "x", "guessed")
    with pytest.raises(ValueError, match="value"):
        tables.Entry(math.nan, "W", "x", "derived")


# Counts shaped like each source's (fields filled and `unfilled` lists as the engines and
# backends declare them): every source's counts price on every platform that can run them.
SOURCES = {
    "clock": (dict(spikes=50, neuron_updates=1000, membrane_updates=900, synops_ac=400,
                   dense_ac=8000, weight_reads=400, state_reads=1000, state_writes=1000, ticks=10),
              ("spikes_routed", "hops", "cycles", "plasticity_updates")),
    "truenorth": (dict(spikes=50, synops_ac=400, weight_reads=60, dense_ac=65536,
                       neuron_updates=2560, spikes_routed=50, hops=300, ticks=10),
                  ("synops_mac", "dense_mac", "membrane_updates", "state_reads", "state_writes",
                   "plasticity_updates", "cycles")),
    "loihi": (dict(spikes=50, neuron_updates=1000, synops_ac=400, ticks=10, spikes_routed=80,
                   hops=120),
              ("membrane_updates", "synops_mac", "dense_ac", "dense_mac", "weight_reads",
               "state_reads", "state_writes", "cycles")),
    "northpole": (dict(dense_mac=10_000, weight_reads=10_000, state_reads=1000, state_writes=100,
                       spikes_routed=100, hops=300, cycles=5000),
                  ("spikes", "neuron_updates", "membrane_updates", "synops_ac", "synops_mac",
                   "dense_ac", "plasticity_updates", "ticks")),
}
RUNS_ON = {"clock": ("cmos45nm", "gpu", "truenorth", "loihi", "northpole"),
           "truenorth": ("cmos45nm", "truenorth", "loihi", "northpole"),
           "loihi": ("cmos45nm", "truenorth", "loihi"),
           "northpole": ("northpole",)}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_source_prices_on_its_platforms(source):
    fields, unfilled = SOURCES[source]
    c = Counts(samples=2, duration_s=0.01, source=source, unfilled=unfilled)
    c.add("layer", "layer", **fields)
    for platform in RUNS_ON[source]:
        kw = {"weights": 100} if platform == "gpu" else {}
        rep = report(c, platform, **kw)
        assert rep.total[0] <= rep.total[1] <= rep.total[2] and rep.total[1] > 0
        json.dumps(rep.to_dict())
