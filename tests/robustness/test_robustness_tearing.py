"""Power lost at APDUs of an issuance, both layouts, before / after the torn command's NVM write
(tests/sim/test_tearing_issuance.py covers the middle of the write at every index, through the registry;
`python -m bench robustness` runs all three at every index)."""

from __future__ import annotations

from bench import tearing
from bench.env import BenchEnv
from bench.report import Campaign
from simulator import When


def test_tearing_before_and_after_writes(bench_env: BenchEnv, record: list[Campaign]) -> None:
    campaign = tearing.run(bench_env, modes=(When.BEFORE, When.AFTER), stride=3)
    record.append(campaign)
    assert campaign.failures == 0, campaign.examples
    per_issuance = campaign.counts["zz APDUs per issuance"] + campaign.counts["smx APDUs per issuance"]
    assert campaign.cases >= 2 * per_issuance // 3
    # Both sides of the commit point were hit, and every torn card was finished by a retry.
    assert campaign.counts["torn before the commit point"] > 0 and campaign.counts["torn after the commit point"] > 0
    assert campaign.counts["retried and genuine"] == campaign.cases
