"""Instance types: the table, and DescribeInstanceTypes.

The families Gureum knows: t2 and t3 (burstable), m5 (general purpose), c5
(compute optimised), and m1.small (what RunInstances launches when no type
is given, as on AWS).  Numbers are AWS's (instance type pages of the EC2
User Guide; burstable baselines and credits from the CPU credits page).

A running instance gets its type's vCPUs and memory as container limits
(see :mod:`instance_runtime`); the vCPUs are capped at the host's CPUs, since
an engine refuses more than it has.

Pure: the handler reads only the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gureum.services.api import RequestContext
from gureum.services.ec2 import errors, filters, paging

DEFAULT_TYPE = "m1.small"


@dataclass(frozen=True, slots=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    network: str
    max_enis: int
    ips_per_eni: int
    threads_per_core: int = 2
    hypervisor: str = "nitro"
    clock_ghz: float | None = None
    current: bool = True
    # Burstable types only: baseline utilisation per vCPU (0.1 = 10 %),
    # credits earned per hour, and T2's launch credits.
    baseline: float | None = None
    credits_per_hour: float | None = None
    launch_credits: int = 0

    @property
    def family(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def burstable(self) -> bool:
        return self.baseline is not None

    @property
    def cores(self) -> int:
        return max(1, self.vcpus // self.threads_per_core)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mib * 1024 * 1024

    @property
    def bare_metal(self) -> bool:
        return self.name.endswith(".metal")

    @property
    def free_tier(self) -> bool:
        return self.name in ("t2.micro", "t3.micro")


def _t2(size: str, vcpus: int, mib: int, net: str, enis: int, ips: int, base: float, credits: float) -> InstanceType:
    return InstanceType(f"t2.{size}", vcpus, mib, net, enis, ips, threads_per_core=1, hypervisor="xen",
                        baseline=base, credits_per_hour=credits, launch_credits=30 * vcpus)


def _t3(size: str, vcpus: int, mib: int, enis: int, ips: int, base: float, credits: float) -> InstanceType:
    return InstanceType(f"t3.{size}", vcpus, mib, "Up to 5 Gigabit", enis, ips, clock_ghz=2.5,
                        baseline=base, credits_per_hour=credits)


def _m5(size: str, vcpus: int, net: str, enis: int, ips: int) -> InstanceType:
    return InstanceType(f"m5.{size}", vcpus, vcpus * 4096, net, enis, ips, clock_ghz=3.1)


def _c5(size: str, vcpus: int, net: str, enis: int, ips: int) -> InstanceType:
    return InstanceType(f"c5.{size}", vcpus, vcpus * 2048, net, enis, ips, clock_ghz=3.4)


TYPES: tuple[InstanceType, ...] = (
    InstanceType("m1.small", 1, 1740, "Low", 2, 4, threads_per_core=1, hypervisor="xen", current=False),
    _t2("nano", 1, 512, "Low to Moderate", 2, 2, 0.05, 3),
    _t2("micro", 1, 1024, "Low to Moderate", 2, 2, 0.10, 6),
    _t2("small", 1, 2048, "Low to Moderate", 2, 4, 0.20, 12),
    _t2("medium", 2, 4096, "Low to Moderate", 3, 6, 0.20, 24),
    _t2("large", 2, 8192, "Low to Moderate", 3, 12, 0.30, 36),
    _t2("xlarge", 4, 16384, "Moderate", 3, 15, 0.225, 54),
    _t2("2xlarge", 8, 32768, "Moderate", 3, 15, 0.17, 81.6),
    _t3("nano", 2, 512, 2, 2, 0.05, 6),
    _t3("micro", 2, 1024, 2, 2, 0.10, 12),
    _t3("small", 2, 2048, 3, 4, 0.20, 24),
    _t3("medium", 2, 4096, 3, 6, 0.20, 24),
    _t3("large", 2, 8192, 3, 12, 0.30, 36),
    _t3("xlarge", 4, 16384, 4, 15, 0.40, 96),
    _t3("2xlarge", 8, 32768, 4, 15, 0.40, 192),
    _m5("large", 2, "Up to 10 Gigabit", 3, 10),
    _m5("xlarge", 4, "Up to 10 Gigabit", 4, 15),
    _m5("2xlarge", 8, "Up to 10 Gigabit", 4, 15),
    _m5("4xlarge", 16, "Up to 10 Gigabit", 8, 30),
    _m5("8xlarge", 32, "10 Gigabit", 8, 30),
    _m5("12xlarge", 48, "12 Gigabit", 8, 30),
    _m5("16xlarge", 64, "20 Gigabit", 15, 50),
    _m5("24xlarge", 96, "25 Gigabit", 15, 50),
    _m5("metal", 96, "25 Gigabit", 15, 50),
    _c5("large", 2, "Up to 10 Gigabit", 3, 10),
    _c5("xlarge", 4, "Up to 10 Gigabit", 4, 15),
    _c5("2xlarge", 8, "Up to 10 Gigabit", 4, 15),
    _c5("4xlarge", 16, "Up to 10 Gigabit", 8, 30),
    _c5("9xlarge", 36, "12 Gigabit", 8, 30),
    _c5("12xlarge", 48, "12 Gigabit", 8, 30),
    _c5("18xlarge", 72, "25 Gigabit", 15, 50),
    _c5("24xlarge", 96, "25 Gigabit", 15, 50),
    _c5("metal", 96, "25 Gigabit", 15, 50),
)

BY_NAME: dict[str, InstanceType] = {t.name: t for t in TYPES}


def lookup(name: str) -> InstanceType | None:
    return BY_NAME.get(name)


def require(name: str) -> InstanceType:
    """The type, or EC2's error for a type that does not exist."""
    found = BY_NAME.get(name)
    if found is None:
        raise errors.invalid_value(name, "InstanceType")
    return found


def cpu_limit(t: InstanceType, host_cpus: int) -> float:
    """The CPUs the container may use: the type's vCPUs, at most the host's."""
    return float(min(t.vcpus, max(1, host_cpus)))


def info(t: InstanceType) -> dict[str, Any]:
    """One ``InstanceTypeInfo`` as DescribeInstanceTypes answers it."""
    out: dict[str, Any] = {
        "InstanceType": t.name,
        "CurrentGeneration": t.current,
        "FreeTierEligible": t.free_tier,
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"] if t.family != "m1" else ["ebs", "instance-store"],
        "SupportedVirtualizationTypes": ["hvm"] if t.family != "m1" else ["hvm", "paravirtual"],
        "BareMetal": t.bare_metal,
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"] if t.family != "m1" else ["i386", "x86_64"]},
        "VCpuInfo": {
            "DefaultVCpus": t.vcpus,
            "DefaultCores": t.cores,
            "DefaultThreadsPerCore": t.threads_per_core,
        },
        "MemoryInfo": {"SizeInMiB": t.memory_mib},
        "InstanceStorageSupported": t.family == "m1",
        "EbsInfo": {
            "EbsOptimizedSupport": "default" if t.family in ("m5", "c5", "t3") else "unsupported",
            "EncryptionSupport": "supported",
            "NvmeSupport": "required" if t.hypervisor == "nitro" else "unsupported",
        },
        "NetworkInfo": {
            "NetworkPerformance": t.network,
            "MaximumNetworkInterfaces": t.max_enis,
            "Ipv4AddressesPerInterface": t.ips_per_eni,
            "Ipv6AddressesPerInterface": t.ips_per_eni if t.family != "m1" else 0,
            "Ipv6Supported": t.family != "m1",
            "EnaSupport": "required" if t.hypervisor == "nitro" else "unsupported",
            "DefaultNetworkCardIndex": 0,
            "MaximumNetworkCards": 1,
        },
        "PlacementGroupInfo": {"SupportedStrategies": ["partition", "spread"] if t.burstable else ["cluster", "partition", "spread"]},
        "HibernationSupported": t.family != "m1" and not t.bare_metal,
        "BurstablePerformanceSupported": t.burstable,
        "DedicatedHostsSupported": not t.burstable and t.family != "m1",
        "AutoRecoverySupported": t.family != "m1",
        "SupportedBootModes": ["legacy-bios", "uefi"] if t.hypervisor == "nitro" else ["legacy-bios"],
        "Hypervisor": t.hypervisor if not t.bare_metal else None,
        "SupportedInRegion": True,
    }
    if t.clock_ghz is not None:
        out["ProcessorInfo"]["SustainedClockSpeedInGhz"] = t.clock_ghz
    if t.hypervisor == "nitro" and not t.burstable:
        out["VCpuInfo"]["ValidCores"] = list(range(1, t.cores + 1))
        out["VCpuInfo"]["ValidThreadsPerCore"] = [1, 2]
    return {k: v for k, v in out.items() if v is not None}


def _b(value: bool) -> list[str]:
    return ["true" if value else "false"]


FILTERS: dict[str, Callable[[InstanceType], Iterable[str]]] = {
    "instance-type": lambda t: [t.name],
    "current-generation": lambda t: _b(t.current),
    "free-tier-eligible": lambda t: _b(t.free_tier),
    "burstable-performance-supported": lambda t: _b(t.burstable),
    "bare-metal": lambda t: _b(t.bare_metal),
    "hypervisor": lambda t: [t.hypervisor],
    "vcpu-info.default-vcpus": lambda t: [str(t.vcpus)],
    "vcpu-info.default-cores": lambda t: [str(t.cores)],
    "vcpu-info.default-threads-per-core": lambda t: [str(t.threads_per_core)],
    "memory-info.size-in-mib": lambda t: [str(t.memory_mib)],
    "network-info.network-performance": lambda t: [t.network],
    "processor-info.supported-architecture": lambda t: ["x86_64"] + (["i386"] if t.family == "m1" else []),
    "supported-usage-class": lambda t: ["on-demand", "spot"],
}


def describe_instance_types(ctx: RequestContext, req: dict[str, Any]) -> dict[str, Any]:
    errors.check_dry_run(req)
    errors.check_max_results(req.get("MaxResults"), 5, 100)
    names = list(req.get("InstanceTypes") or [])
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise errors.client(
            "InvalidInstanceType", f"The following supplied instance types do not exist: [{', '.join(unknown)}]"
        )
    chosen = [BY_NAME[n] for n in names] if names else list(TYPES)
    chosen = sorted(filters.apply(chosen, req.get("Filters"), FILTERS), key=lambda t: t.name)
    items, token = paging.page(chosen, lambda t: t.name, req.get("MaxResults"), req.get("NextToken"))
    out: dict[str, Any] = {"InstanceTypes": [info(t) for t in items]}
    if token:
        out["NextToken"] = token
    return out


OPERATIONS = {"DescribeInstanceTypes": describe_instance_types}
