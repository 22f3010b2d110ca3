"""A short HTTP soak: verifications with 16 concurrent clients against uvicorn on a free local port
(`python -m bench robustness` runs 10,000). No error, every verdict valid, server memory bounded."""

from __future__ import annotations

from bench import http_bench
from bench.env import BenchEnv
from bench.report import Campaign


def test_http_soak(bench_env: BenchEnv, record: list[Campaign]) -> None:
    campaign, figures = http_bench.soak(bench_env, total=300, clients=16)
    record.append(campaign)
    assert campaign.cases == 300 and campaign.failures == 0, campaign.examples
    memory = figures[-1]
    assert memory.unit == "MB" and memory.met, memory
