"""What the simulated stamp's logs contain: text lines and binary records that compress like real ones.

Real logs are repetitive in a particular way, and deflate (32 KB window) sees it: a message template
comes back a few lines later with other ids, numbers and durations; an operation's correlation id
appears on its start, progress and end lines; ETW records share their provider GUIDs, event
descriptors and UTF-16 strings; event-log chunks repeat their templates and pad with zeros. So the
content is built from templates whose variable fields come from realistic pools, chosen by a process
with short, irregular reuse distances, not from random bytes (docs/collection.md, "Speed", has the
published figures this aims at and what it gives).

Writing stays mostly big copies: each kind has a pool of pre-built lines (text) or 64 KB buffers
(binary) made once per stamp; a file takes a run of lines from a starting point, or a sequence of
buffers. Pool repetition is megabytes apart, far outside deflate's window. Deterministic for a seed.
"""
from __future__ import annotations

import bisect
import itertools
import random
import struct
from collections.abc import Callable, Sequence

BLOCK = 64 * 1024
_LINES = 24576  # text lines per pool (about 3 MB)
_BUFFERS = 48  # 64 KB buffers per binary pool (3 MB)

# -- vocabularies (what an Azure Stack Hub's infrastructure logs talk about) ---------------------------
_COMPONENTS = ["ECE", "Fabric", "Health", "Update", "Storage", "Network", "Compute", "Identity", "Backup",
               "DeploymentProvider", "CloudEngine", "FabricRingServices", "SeedRingServices", "HostAgent"]
_ACTIONS = ["Deployment", "UpdateHostAgent", "ValidateStorageHealth", "RotateSecrets", "AddScaleUnitNode",
            "ConfigureNetworkController", "InstallWindowsFeature", "CheckClusterHealth", "StartVM", "StopVM",
            "RepairNode", "CollectLogs", "RenewCertificate", "ApplyPatch", "ConfigureSLB", "SyncTime",
            "BackupInfrastructure", "ValidateUpdatePackage", "RegisterResourceProvider", "ScaleOutRing"]
_HOSTS = [f"azs-node{i:02d}" for i in range(1, 5)] + ["azs-ercs01", "azs-ercs02", "azs-ercs03", "azs-xrp01",
          "azs-xrp02", "azs-xrp03", "azs-acs01", "azs-acs02", "azs-acs03", "azs-adfs01", "azs-was01", "azs-wasp01",
          "azs-sql01", "azs-sql02", "azs-srng01", "azs-nc01", "azs-nc02", "azs-nc03", "azs-gwy01", "azs-slb01"]
_VOLUMES = ["SU1_Volume", "SU1_Infrastructure_1", "SU1_Infrastructure_2", "SU1_ObjStore_1", "SU1_Public",
            "SU1_VmTemp_1", "ClusterPerformanceHistory"]
_SERVICES = ["ECEAgent", "HealthAgent", "DeploymentAgent", "FabricRingService", "StorageController",
             "NetworkController", "ComputeController", "UpdateResourceProvider", "KeyVaultInternal"]
_ERRORS = ["The operation timed out.", "The remote server returned an error: (503) Server Unavailable.",
           "Access is denied.", "The network path was not found.", "A task was canceled.",
           "The specified resource is being used by another process.", "The lease has expired.",
           "Unable to connect to the remote server."]
_STATES = ["Running", "Running", "Running", "Succeeded", "Pending", "InProgress", "Failed"]
_API = ["2015-01-01", "2016-05-01", "2017-03-01", "2019-07-01", "2020-06-01"]
_AGENTS = ["Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64)+AppleWebKit/537.36+(KHTML,+like+Gecko)+Chrome/119.0",
           "AzurePowershell/v6.13.2", "AzureStack-HealthAgent/1.2311.1.22", "Microsoft.Azure.Management/3.0",
           "azure-storage-blob/12.19.0+Python/3.11", "-"]


def guid(r: random.Random) -> str:
    a, b, c, d, e = (r.getrandbits(bits) for bits in (32, 16, 16, 16, 48))
    return f"{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}"


def _duration(r: random.Random) -> int:
    """Milliseconds: most calls are quick, a few take long (log-normal, as service timings are)."""
    return max(1, min(int(r.lognormvariate(3.5, 1.6)), 3_600_000))


class _Ops:
    """Operations in flight: a handful at a time, each with a correlation id its lines share, retired
    after a few lines and replaced by a new one (so an id recurs a few lines to a few hundred apart)."""

    def __init__(self, r: random.Random, size: int = 10):
        self.r = r
        self.live = [(guid(r), r.choice(_ACTIONS), r.choice(_HOSTS)) for _ in range(size)]

    def pick(self) -> tuple[str, str, str]:
        i = min(int(self.r.expovariate(0.35)), len(self.live) - 1)  # the newest are the busiest
        op = self.live[i]
        if self.r.random() < 0.05:
            self.live.pop(i)
            self.live.insert(0, (guid(self.r), self.r.choice(_ACTIONS), self.r.choice(_HOSTS)))
        return op


Template = Callable[[random.Random, _Ops], str]


_STEPS = ("Validating prerequisites", "Copying content", "Applying configuration", "Waiting for reboot", "Verifying")
_CHECKS = ("Cluster", "Storage", "Network", "Compute", "Certificates")
_ACCOUNTS = ("CloudAdmin", "AzureStackAdmin", "HealthService", "UpdateService")
_ALERTS = ("Node inaccessible for virtual machine placement", "Low memory capacity", "Certificate expiring",
           "Infrastructure role unhealthy")
_REPLIES = ("200 OK", "200 OK", "202 Accepted", "204 No Content")
_GETS = ("Status", "State", "Health", "Configuration")


def _service_templates() -> list[tuple[float, Template]]:
    """Message templates of the infrastructure services' text logs (ECE, Fabric, Health ...), each
    with how often it is written; the heartbeat-like ones dominate, as they do in real logs."""
    c = _COMPONENTS

    def heartbeat(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [{r.choice(c[:4])}] Heartbeat from {r.choice(_HOSTS)}: status Healthy, "
                f"lease renewed for {r.choice((30, 60, 60, 120))} s\n")

    def polling(r: random.Random, o: _Ops) -> str:
        g, a, h = o.pick()
        return (f" [Verbose] [ECE] Polling status of action '{a}' on {h}: {r.choice(_STATES)} "
                f"({5 * r.randint(0, 20)}%), correlation id {g}\n")

    def starting(r: random.Random, o: _Ops) -> str:
        g, a, h = o.pick()
        return f" [Info] [ECE] Starting action '{a}' on {h}, correlation id {g}\n"

    def completed(r: random.Random, o: _Ops) -> str:
        g, a, h = o.pick()
        return f" [Info] [ECE] Completed action '{a}' on {h} in {_duration(r)} ms, correlation id {g}\n"

    def step(r: random.Random, o: _Ops) -> str:
        g, a, h = o.pick()
        return (f" [Verbose] [ECE] Action '{a}' step {r.randint(1, 40)} of 40 on {h}: {r.choice(_STEPS)}, "
                f"correlation id {g}\n")

    def failed(r: random.Random, o: _Ops) -> str:
        g, a, h = o.pick()
        return f" [Error] [ECE] Action '{a}' failed on {h} after {_duration(r)} ms: {r.choice(_ERRORS)} Correlation id {g}\n"

    def invoking(r: random.Random, o: _Ops) -> str:
        return f" [Verbose] [{r.choice(c)}] Invoking {r.choice(_SERVICES)}.Get{r.choice(_GETS)}() on {r.choice(_HOSTS)}\n"

    def returned(r: random.Random, o: _Ops) -> str:
        return f" [Verbose] [{r.choice(c)}] {r.choice(_SERVICES)} returned {r.choice(_REPLIES)} in {_duration(r)} ms\n"

    def volume(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [Storage] Volume {r.choice(_VOLUMES)} on {r.choice(_HOSTS[:4])}: "
                f"{r.randint(30, 95)}% used, health Healthy, operational status OK\n")

    def check(r: random.Random, o: _Ops) -> str:
        return f" [Info] [Health] Health check '{r.choice(_CHECKS)}' passed on {r.choice(_HOSTS)} ({_duration(r)} ms)\n"

    def retrying(r: random.Random, o: _Ops) -> str:
        return (f" [Warning] [{r.choice(c)}] Retrying call to {r.choice(_SERVICES)} on {r.choice(_HOSTS)} "
                f"(attempt {r.randint(2, 5)} of 5) after {r.choice((500, 1000, 2000, 5000))} ms: {r.choice(_ERRORS)}\n")

    def endpoint(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [Network] Endpoint 10.20.{r.randint(1, 4)}.{r.randint(10, 60)}:"
                f"{r.choice((443, 443, 4443, 5986, 30015))} reachable from {r.choice(_HOSTS)}, latency {r.randint(1, 40)} ms\n")

    def vm(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [Compute] VM {r.choice(_HOSTS[4:])} on {r.choice(_HOSTS[:4])}: state Running, "
                f"CPU {r.randint(1, 90)}%, memory {r.choice((4096, 8192, 8192, 16384))} MB assigned\n")

    def token(r: random.Random, o: _Ops) -> str:
        return f" [Info] [Identity] Token for {r.choice(_ACCOUNTS)} renewed, expires in {r.choice((3599, 3600, 86399))} s\n"

    def lock(r: random.Random, o: _Ops) -> str:
        return (f" [Verbose] [Fabric] Lock '{r.choice(_ACTIONS)}' acquired by {r.choice(_SERVICES)} "
                f"(waited {r.randint(0, 300)} ms, holders 1, queue {r.randint(0, 4)})\n")

    def snapshot(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [Backup] Snapshot of {r.choice(_VOLUMES)} {r.choice(('started', 'completed'))}, "
                f"{r.randint(1, 900)} MB in {_duration(r)} ms\n")

    def alert(r: random.Random, o: _Ops) -> str:
        return f" [Warning] [Health] Alert '{r.choice(_ALERTS)}' raised for {r.choice(_HOSTS)}, fault id {guid(r)}\n"

    def package(r: random.Random, o: _Ops) -> str:
        return (f" [Info] [Update] Package {r.choice(('1.2311.1.22', '1.2311.2.23', '1.2406.0.18'))} "
                f"downloaded {r.randint(1, 100)}% ({r.randint(1, 9000)} MB)\n")

    return [(14, heartbeat), (10, polling), (8, starting), (7, completed), (6, invoking), (6, returned), (5, volume),
            (4, check), (3, retrying), (3, step), (2, endpoint), (2, vm), (1.5, token), (1, failed), (1, lock),
            (1, snapshot), (0.5, alert), (0.5, package)]


_STATIC = ("content/scripts/app.js", "content/css/site.css", "favicon.ico", "health", "metadata/endpoints")


def _w3c_templates() -> list[tuple[float, Template]]:
    """IIS lines of the portal and ARM endpoints: a few clients, a few hundred URLs, many repeats."""
    subs = ["9a8e4d23-53c2-4e27-8f1c-2a7c0b6e3f41", "c1d2e3f4-0a1b-4c5d-9e8f-7a6b5c4d3e2f",
            "2b7e151f-628a-4ed2-a6ab-f7158809cf4f", "5f4dcc3b-5aa7-4c1d-8f2e-ad3b9e0a1c77"]
    rgs = ["system.local", "system.local", "rg-web", "rg-sql", "AzureStack-Updates", "rg-monitoring"]
    kinds = ["Microsoft.Compute/virtualMachines", "Microsoft.Storage/storageAccounts", "Microsoft.Web/sites",
             "Microsoft.Network/virtualNetworks", "Microsoft.KeyVault/vaults", "Microsoft.Fabric.Admin/fabricLocations"]

    def arm(r: random.Random, o: _Ops) -> str:
        return (f" 10.20.2.{r.choice((21, 22, 23))} {r.choice(('GET', 'GET', 'GET', 'PUT', 'POST'))} "
                f"/subscriptions/{r.choice(subs)}/resourceGroups/{r.choice(rgs)}/providers/{r.choice(kinds)} "
                f"api-version={r.choice(_API)} 443 - 10.20.3.{r.randint(10, 40)} {r.choice(_AGENTS)} - "
                f"{r.choice((200, 200, 200, 200, 201, 202, 204, 404, 409, 500))} 0 0 {_duration(r)}\n")

    def static(r: random.Random, o: _Ops) -> str:
        return (f" 10.20.2.{r.choice((21, 22, 23))} GET /{r.choice(_STATIC)} "
                f"- 443 - 10.20.3.{r.randint(10, 40)} {r.choice(_AGENTS)} - {r.choice((200, 200, 304))} 0 0 {r.randint(0, 30)}\n")

    def token(r: random.Random, o: _Ops) -> str:
        return (f" 10.20.2.{r.choice((21, 22, 23))} POST /adfs/oauth2/token - 443 - 10.20.3.{r.randint(10, 40)} "
                f"{r.choice(_AGENTS)} - {r.choice((200, 200, 200, 400, 401))} 0 0 {_duration(r)}\n")
    return [(10, arm), (4, static), (2, token)]


def _cluster_templates() -> list[tuple[float, Template]]:
    """Failover-cluster log lines (Get-ClusterLog): resource state changes, GUM updates, heartbeats."""
    res = ["Cluster IP Address", "Cluster Name", "SU1_Volume", "Virtual Machine azs-ercs01", "vmms", "Storage Qos Resource",
           "Cluster Pool 1", "Health", "Virtual Machine azs-xrp01"]
    return [
        (6, lambda r, o: f" INFO  [NM] Received heartbeat from node {r.randint(1, 4)} on interface {r.randint(1, 3)}, "
                         f"latency {r.randint(0, 9)} ms\n"),
        (4, lambda r, o: f" INFO  [RCM] rcm::RcmApi::GetResourceState: ({r.choice(res)}, "
                         f"{r.choice(('Online', 'Online', 'Online', 'Pending', 'OfflinePending'))})\n"),
        (3, lambda r, o: f" INFO  [GUM] Node {r.randint(1, 4)}: Processing GrantLock to {r.randint(1, 4)} "
                         f"(sent by {r.randint(1, 4)} gumid: {r.randint(100000, 999999)})\n"),
        (2, lambda r, o: f" DBG   [RES] Physical Disk <{r.choice(_VOLUMES)}>: IsAlive check passed ({r.randint(0, 40)} ms)\n"),
        (1, lambda r, o: f" WARN  [RHS] Resource {r.choice(res)} IsAlive has indicated failure, "
                         f"retry {r.randint(1, 3)}\n"),
        (1, lambda r, o: f" INFO  [CS] Cluster service state {r.choice(('Running', 'Running', 'Joining'))}, "
                         f"quorum {r.choice(('NodeAndDiskMajority', 'NodeAndCloudMajority'))}\n"),
    ]


_LOGGERS = ["CloudEngine.Actions.InvokeInterfaceAction", "CloudEngine.Engine.ActionExecutor",
            "Microsoft.AzureStack.Fabric.Health.HealthAgent", "Microsoft.AzureStack.Fabric.Storage.VolumeMonitor",
            "Microsoft.AzureStack.Solution.Deploy.EnterpriseCloudEngine", "Microsoft.AzureStack.Common.Infrastructure.Http.RestClient",
            "Microsoft.AzureStack.Fabric.Compute.VirtualMachineMonitor", "Microsoft.AzureStack.Fabric.Network.EndpointProbe",
            "Microsoft.AzureStack.Identity.TokenCache", "Microsoft.AzureStack.Fabric.Backup.SnapshotController",
            "Microsoft.AzureStack.Update.PackageDownloader", "Microsoft.AzureStack.Fabric.Common.LockManager"]


def _text_pool(r: random.Random, templates: list[tuple[float, Template]], n: int,
               logged: bool = False) -> list[str]:
    """`n` line bodies (everything after the timestamp): templates drawn by weight, and a fifth of the
    time the template of one of the last few lines again (bursts: a retry loop, a polling loop), and
    now and then a recent line's message word for word.
    `logged`: after the level, the thread id and the logger (class) that wrote it, as .NET service
    logs carry them (each template is written by one logger, from one of a dozen threads)."""
    ops = _Ops(r)
    fns = [fn for _, fn in templates]
    loggers = {id(fn): r.choice(_LOGGERS) for fn in fns}
    threads = [r.randint(5, 120) for _ in range(12)]
    cum = list(itertools.accumulate(w for w, _ in templates))
    recent: list[Template] = []
    out: list[str] = []
    for _ in range(n):
        if len(out) > 16 and r.random() < 0.15:  # the same message again (a heartbeat, a poll that did not move)
            out.append(out[-1 - min(int(r.expovariate(0.3)), 15)])
            continue
        if recent and r.random() < 0.2:
            fn = recent[-1 - min(int(r.expovariate(0.7)), len(recent) - 1)]
        else:
            fn = fns[bisect.bisect(cum, r.random() * cum[-1])]
        recent = (recent + [fn])[-8:]
        text = fn(r, ops)
        if logged:
            k = text.index("]") + 1
            text = f"{text[:k]} [{r.choice(threads):3d}] [{loggers[id(fn)]}]{text[k:]}"
        out.append(text)
    return out


class TextPool:
    """Line bodies of one log format and the offsets to take runs of them by byte count."""

    def __init__(self, bodies: list[str]):
        self.bodies = bodies
        self.lengths = [len(b) for b in bodies]  # ASCII: characters are bytes
        self._turn = sum(self.lengths)

    def lines_for(self, start: int, budget: int, fixed: int) -> int:
        """How many bodies from `start` (wrapping) fit in `budget` bytes with `fixed` bytes per line."""
        n, used, i = 0, 0, start % len(self.bodies)
        total = self._turn + fixed * len(self.lengths)
        if budget >= total:  # whole turns of the pool first
            turns = budget // total
            n, used = turns * len(self.bodies), turns * total
        while True:
            line = fixed + self.lengths[i]
            if used + line > budget:
                return n
            used += line
            n += 1
            i = (i + 1) % len(self.bodies)

    def body(self, i: int) -> str:
        return self.bodies[i % len(self.bodies)]

    def filler(self, i: int, length: int) -> str:
        """A body of exactly `length` bytes (at least 1) ending in a newline: the next bodies joined
        by spaces and cut, so a file ends on its exact size."""
        text = ""
        while len(text) < length:
            text += self.body(i).rstrip("\n") + " "
            i += 1
        return text[:length - 1] + "\n"


# -- binary logs -----------------------------------------------------------------------------------

def _utf16z(s: str) -> bytes:
    return s.encode("utf-16-le") + b"\x00\x00"


_PROVIDERS = ["Microsoft-AzureStack-Fabric", "Microsoft-AzureStack-Storage", "Microsoft-AzureStack-Health",
              "Microsoft-AzureStack-ECE", "Microsoft-Windows-Kernel-Process", "Microsoft-Windows-Hyper-V-VMMS",
              "Microsoft-AzureStack-Compute", "Microsoft-Windows-SMBClient"]
_WORDS = ["Started", "Completed", "Heartbeat", "GetState", "Online", "Healthy", "Lease renewed", "Polling",
          "Validating", "Succeeded", "Retrying", "Timeout", "Connected", "Disconnected", "CheckHealth", "Invoke"]


def etl_buffers(r: random.Random, n: int = _BUFFERS) -> list[bytes]:
    """ETW trace buffers as a real-time session flushes them: a 72-byte buffer header, then events,
    each an EVENT_HEADER-like record (size, thread and process ids, a timestamp that grows, the
    provider GUID, the event descriptor, the activity id) and user data: small counters, durations,
    UTF-16 strings from a small vocabulary, host names; 8-byte aligned; the unused end is zeros."""
    provs = [(r.randbytes(16), p) for p in _PROVIDERS]
    # each provider writes a few event kinds: (id, level, opcode, task, keyword, fields)
    events = [(p, [(r.randint(1, 900), r.choice((4, 4, 4, 5, 3, 2)), r.choice((0, 1, 2)), r.randint(1, 40),
                    r.getrandbits(64) & 0x8000_0000_0000_00FF, [r.choice("sudhw") for _ in range(r.randint(2, 6))])
                   for _ in range(r.randint(3, 9))]) for p in provs]
    threads = [(r.randint(400, 9000) & ~3, r.randint(4, 12000) & ~3) for _ in range(24)]
    ops = _Ops(r, 12)
    ts = r.getrandbits(56)
    seq = r.getrandbits(20)
    out = []
    for _ in range(n):
        buf = bytearray()
        fill = int(BLOCK * r.uniform(0.88, 1.0))
        buf += struct.pack("<IIIIQQQ", BLOCK, 0, 0, 1, ts, seq, 2) + bytes(72 - 40)
        seq += 1
        pw = [1 + 6 * (i == 0) for i in range(len(events))]  # one provider dominates a trace
        while True:
            (guid, _), kinds = r.choices(events, weights=pw)[0]
            eid, level, opcode, task, kw, fields = kinds[min(int(r.expovariate(0.6)), len(kinds) - 1)]
            tid, pid = threads[min(int(r.expovariate(0.25)), len(threads) - 1)]
            ts += int(r.expovariate(1 / 20000))  # 100 ns ticks, about 2 ms apart
            data = bytearray()
            for f in fields:
                if f == "s":
                    data += _utf16z(r.choice(_WORDS))
                elif f == "h":
                    data += _utf16z(r.choice(_HOSTS))
                elif f == "d":
                    data += struct.pack("<I", _duration(r))
                elif f == "u":
                    data += struct.pack("<I", r.choice((0, 0, 1, 2, 3, r.randint(0, 255))))
                else:
                    data += struct.pack("<Q", r.randint(0, 1 << 20))
            activity = bytes.fromhex(ops.pick()[0].replace("-", "")) if r.random() < 0.5 else bytes(16)
            size = 80 + len(data)
            rec = struct.pack("<HHHHIIQ16sHBBBBHQII16s", size, 0xC00A, 0x0240, 0, tid, pid, ts, guid, eid, 0, 0,
                              level, opcode, task, kw, r.randint(0, 30), r.randint(0, 60), activity) + data
            rec += bytes(-len(rec) % 8)
            if len(buf) + len(rec) > fill:
                break
            buf += rec
        struct.pack_into("<I", buf, 4, len(buf))  # saved offset: where the events end
        out.append(bytes(buf) + bytes(BLOCK - len(buf)))
    return out


def _bxml_template(names: Sequence[str]) -> bytes:
    """An event template's binary XML as a chunk first carries it: element and attribute names in
    UTF-16 with their hashes and lengths, substitution tokens in between."""
    out = bytearray(b"\x0f\x01\x01\x00")
    for i, name in enumerate(names):
        enc = name.encode("utf-16-le")
        out += b"\x41\xff\xff" + struct.pack("<IIHH", len(enc) + 16, 0, sum(enc) & 0xFFFF, len(name)) + enc + b"\x00\x00"
        out += b"\x0e" + struct.pack("<HB", i, 0x01) + b"\x04"
    return bytes(out) + b"\x00"


_CHANNELS = ["System", "Application", "Microsoft-AzureStack-ECE/Operational", "Microsoft-AzureStack-Fabric/Operational",
             "Microsoft-Windows-FailoverClustering/Operational", "Microsoft-Windows-Hyper-V-VMMS-Admin"]
_EVENT_FIELDS = ["Event", "System", "Provider", "Name", "Guid", "EventID", "Version", "Level", "Task", "Opcode",
                 "Keywords", "TimeCreated", "SystemTime", "EventRecordID", "Correlation", "ActivityID",
                 "Execution", "ProcessID", "ThreadID", "Channel", "Computer", "Security", "UserID", "EventData", "Data"]


def evtx_chunks(r: random.Random, n: int = _BUFFERS) -> list[bytes]:
    """Event-log chunks as the Windows event log writes them: a 512-byte chunk header ("ElfChnk"),
    then records ("**", size, record number, FILETIME) whose body is binary XML: the template the
    first time a chunk uses it, a reference to it afterwards, then the substitution values (provider
    and channel names and the computer in UTF-16, event id, level, times, process and thread ids, a
    SID, a few data strings). The rest of a chunk is zeros."""
    computers = [f"{h}.azurestack.local" for h in _HOSTS]
    kinds = [(r.randint(1, 9000), r.choice((4, 4, 4, 3, 2)), r.choice(_PROVIDERS),
              [r.choice("sdh") for _ in range(r.randint(1, 5))], _bxml_template(_EVENT_FIELDS[:r.randint(18, 25)]))
             for _ in range(14)]
    sid = bytes([1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0])  # S-1-5-18, LocalSystem
    ops = _Ops(r)
    rec_no = r.getrandbits(24)
    ft = r.getrandbits(56)
    out = []
    for _ in range(n):
        chunk = bytearray(b"ElfChnk\x00" + struct.pack("<QQQQI", rec_no, 0, rec_no, 0, 128) + bytes(512 - 44))
        seen: set[int] = set()
        fill = int(BLOCK * r.uniform(0.85, 0.99))
        computer = r.choice(computers)
        channel = r.choice(_CHANNELS)
        while True:
            k = min(int(r.expovariate(0.4)), len(kinds) - 1)
            eid, level, prov, fields, template = kinds[k]
            ft += int(r.expovariate(1 / 5e6))  # 100 ns ticks, about half a second apart
            values = [_utf16z(prov), struct.pack("<HBBHB", eid, 0, level, r.randint(0, 20), 0),
                      struct.pack("<QQQ", 0x8000_0000_0000_0000, ft, rec_no),
                      struct.pack("<II", r.choice((4, 1288, 2764, 3312)), r.choice((6020, 6024, 7112, 8436, 9120))),
                      _utf16z(channel), _utf16z(computer), sid]
            if r.random() < 0.5:  # Correlation ActivityID: the operation the event belongs to
                values.append(bytes.fromhex(ops.pick()[0].replace("-", "")))
            for f in fields:
                if f == "s":
                    values.append(_utf16z(f"{r.choice(_WORDS)} {r.choice(_ACTIONS)} on {r.choice(_HOSTS)}"))
                elif f == "h":
                    values.append(_utf16z(f"{r.choice(_SERVICES)} took {_duration(r)} ms"))
                else:
                    values.append(struct.pack("<I", _duration(r)))
            body = template if k not in seen else b"\x0c\x01" + struct.pack("<II", k, 512 + 64 * k)
            seen.add(k)
            subst = struct.pack("<I", len(values)) + b"".join(struct.pack("<HBx", len(v), 0x01) for v in values)
            payload = body + subst + b"".join(values)
            size = 24 + len(payload) + 4
            rec = b"**\x00\x00" + struct.pack("<IQQ", size, rec_no, ft) + payload + struct.pack("<I", size)
            if len(chunk) + len(rec) > fill:
                break
            chunk += rec
            rec_no += 1
        struct.pack_into("<QQ", chunk, 16, rec_no - 1, rec_no - 1)
        out.append(bytes(chunk) + bytes(BLOCK - len(chunk)))
    return out


def dump_blocks(r: random.Random, etl: list[bytes], n: int = 16) -> list[bytes]:
    """Crash-dump memory: 4 KB pages, some zero, some code and data that look random, some holding
    records and strings (taken from trace buffers)."""
    out = []
    for _ in range(n):
        pages = []
        for _ in range(BLOCK // 4096):
            x = r.random()
            if x < 0.3:
                pages.append(bytes(4096))
            elif x < 0.65:
                pages.append(r.randbytes(4096))
            else:
                src = r.choice(etl)
                o = r.randrange(0, BLOCK // 2, 8)
                pages.append(src[o:o + 4096])
        out.append(b"".join(pages))
    return out


def evtx_file_header(chunks: int) -> bytes:
    """The 4 KB header an .evtx file starts with ("ElfFile")."""
    head = b"ElfFile\x00" + struct.pack("<QQQIHHHH", 0, max(chunks - 1, 0), 1, 128, 1, 3, 4096, chunks)
    return head + bytes(4096 - len(head))


def text_pool(kind: str, r: random.Random) -> TextPool:
    """The pool of one kind of text log: "service" (the services' logs, ISO and en-US timestamps),
    "w3c" (IIS) or "cluster" (failover-cluster logs)."""
    if kind == "service":
        return TextPool(_text_pool(r, _service_templates(), _LINES, logged=True))
    return TextPool(_text_pool(r, _w3c_templates() if kind == "w3c" else _cluster_templates(), _LINES // 2))
