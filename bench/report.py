#!/usr/bin/env python3
"""bench/report.py RESULTS DIR: the KEY=VALUE figures of bench/run.sh ->
DIR/latest.json, DIR/latest.md (the tables: one worker each, then two;
PASS/MISS per target) and DIR/plot.dat (for bench/plot.gp; report.sh
draws it). Every CPU figure is a list of rounds; the tables show medians,
the ratio's range over the rounds, and "not separable" where nacred's
rounds and the peer's overlap (the ratio's range holds 1.0). The plain TCP
relays (no TLS) give, per worker count, bounds no TLS proxy can go below;
each target in µs is shown against them."""
import json
import statistics
import sys

R, D = sys.argv[1], sys.argv[2]
kv = {}
for line in open(R):
    if "=" in line:
        k, v = line.rstrip("\n").split("=", 1)
        kv[k] = v

def rounds(key):
    v = kv.get(key, "").split()
    try:
        return [float(x) for x in v]
    except ValueError:
        return []

def med(xs):
    return statistics.median(xs) if xs else None

PROXIES = ["nacred", "nacred_compact", "hitch", "haproxy", "nginx"]
PEERS = ["hitch", "haproxy", "nginx"]
NAMES = {"nacred": "nacred", "nacred_compact": "nacred compact",
         "hitch": "hitch", "haproxy": "HAProxy", "nginx": "nginx-stream",
         "floor": "OpenSSL floor",
         "relay_nginx": "nginx-stream relay", "relay_haproxy": "HAProxy relay"}
# the plain TCP relays (no TLS), in the column of their TLS counterpart
RELAYS = {"relay_haproxy": "haproxy", "relay_nginx": "nginx"}
RELAY_KINDS = {"conn": ("plain TCP relay, no TLS (nginx-stream / HAProxy): per connection with one request (µs)", "{:.1f}"),
               "ka": ("plain TCP relay, no TLS (nginx-stream / HAProxy): per keep-alive request (µs)", "{:.2f}")}
KINDS = {"hs": ("CPU per full handshake, bench/hsload (µs)", 0.8, "{:.1f}"),
         "st": ("CPU per full handshake, openssl s_time -new (µs)", 0.8, "{:.1f}"),
         "ka": ("CPU per keep-alive request (µs)", 0.7, "{:.2f}"),
         "bulk": ("CPU per GiB in 1 MiB responses (s)", 0.8, "{:.3f}")}

def ratio(a, b):
    """median ratio, its range over the rounds, separable?"""
    if not a or not b:
        return None
    m = med(a) / med(b)
    lo, hi = min(a) / max(b), max(a) / min(b)
    return {"ratio": round(m, 3), "lo": round(lo, 3), "hi": round(hi, 3),
            "separable": not (lo <= 1.0 <= hi)}

def rtxt(r):
    if not r:
        return "-"
    if r["lo"] == r["hi"]:
        return "{:.2f} (one round: separability not judged)".format(r["ratio"])
    s = "{:.2f} ({:.2f}-{:.2f})".format(r["ratio"], r["lo"], r["hi"])
    return s if r["separable"] else s + " not separable"

def verdict(r, limit):
    if not r:
        return "-"
    return "PASS" if r["ratio"] <= limit else "MISS"

def fmt(f, x):
    return "-" if x is None else f.format(x)

out = {"meta": {k[5:]: v for k, v in kv.items() if k.startswith("meta.")}}
md = []
nm = out["meta"]
md.append("# nacred vs hitch, HAProxy and nginx-stream")
md.append("")
md.append("{}, nacred at {}, {} CPUs, OpenSSL {}, hitch {}, HAProxy {}, nginx {}{}. "
          "Load average (1/5/15 min) at the start {}, at the end {}. "
          "{} round(s) of {}-s runs per figure. Proxy CPU time per unit of work "
          "(utime+stime of all its processes and threads); lower is better."
          .format(nm.get("date"), nm.get("git"), nm.get("cpus"), nm.get("openssl"),
                  nm.get("hitch"), nm.get("haproxy"), nm.get("nginx"),
                  ", QUICK run" if nm.get("quick") == "1" else "",
                  nm.get("load_start"), nm.get("load_end"), nm.get("rounds"), nm.get("dur")))
md.append("")
md.append("Ratios: nacred's median / the best peer's median (the peer with the "
          "lowest median of hitch, HAProxy, nginx-stream), then in brackets the "
          "range over the rounds (nacred's lowest round / the peer's highest, "
          "nacred's highest / the peer's lowest); \"not separable\" when that "
          "range holds 1.0 (the rounds overlap). Targets are judged on the "
          "default nacred's median.")
verdicts = []

def cpu_table(w):
    t = {}
    md.append("")
    md.append("## {} worker{} each".format(w, "" if w == 1 else "s"))
    md.append("")
    md.append("| figure | nacred | nacred compact | hitch | HAProxy | nginx-stream | best peer | nacred / best | compact / best | target (nacred) | result |")
    md.append("|---|---:|---:|---:|---:|---:|---|---|---|---|---|")
    for k, (label, limit, f) in KINDS.items():
        vals = {p: rounds("w{}.{}.{}".format(w, p, k)) for p in PROXIES}
        peers = [p for p in PEERS if vals[p]]
        if not peers:
            continue
        best = min(peers, key=lambda p: med(vals[p]))
        rn = ratio(vals["nacred"], vals[best])
        rc = ratio(vals["nacred_compact"], vals[best])
        v = verdict(rn, limit)
        t[k] = {"rounds": vals, "best_peer": best, "nacred_to_best": rn,
                "compact_to_best": rc, "target": limit, "result": v}
        verdicts.append((w, label, "≤ {}x best peer".format(limit), rn, v))
        md.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | ≤ {}x best peer | {} |".format(
            label, *[fmt(f, med(vals[p])) for p in PROXIES], NAMES[best],
            rtxt(rn), rtxt(rc), limit, v))
        if k == "hs":
            fl = rounds("w{}.floor.hs".format(w))
            rf = ratio(vals["nacred"], fl)
            rfc = ratio(vals["nacred_compact"], fl)
            vf = verdict(rf, 1.3)
            t["floor"] = {"rounds": fl, "nacred_to_floor": rf, "compact_to_floor": rfc,
                          "target": 1.3, "result": vf}
            verdicts.append((w, "CPU per full handshake (hsload) against OpenSSL's in-memory floor", "≤ 1.3x floor", rf, vf))
            md.append("| ... OpenSSL's in-memory server handshake, same run (bench/sslfloor, µs): {}; each proxy's median / floor | {} | floor | {} | {} | ≤ 1.3x floor | {} |".format(
                fmt(f, med(fl)),
                " | ".join(fmt("{:.2f}x", med(vals[p]) / med(fl) if vals[p] and fl else None) for p in PROXIES),
                rtxt(rf), rtxt(rfc), vf))
            for extra, lab in (("nacred_t1", "nacred with session_tickets = 1"),
                               ("nacred_spread", 'nacred with balance = "spread"')):
                x = rounds("w{}.{}.hs".format(w, extra))
                if x:
                    r = ratio(x, vals[best])
                    t[extra + ".hs"] = {"rounds": x, "to_best": r}
                    md.append("| ... {} (µs) | {} | | | | | | {} | | | |".format(lab, fmt(f, med(x)), rtxt(r)))
        if k == "ka":
            x = rounds("w{}.nacred_spread.ka".format(w))
            if x:
                r = ratio(x, vals[best])
                t["nacred_spread.ka"] = {"rounds": x, "to_best": r}
                md.append('| ... nacred with balance = "spread" (µs) | {} | | | | | | {} | | | |'.format(fmt(f, med(x)), rtxt(r)))
    # the relays: not judged; each in its TLS counterpart's column, the
    # best (lowest median) in the best-peer column
    relay = {}
    for k, (label, f) in RELAY_KINDS.items():
        vals = {r: rounds("w{}.{}.{}".format(w, r, k)) for r in RELAYS}
        have = [r for r in RELAYS if vals[r]]
        if not have:
            continue
        best = min(have, key=lambda r: med(vals[r]))
        relay[k] = {"rounds": vals, "medians": {r: med(vals[r]) for r in have},
                    "best": best, "best_median": med(vals[best])}
        cols = {p: "" for p in PROXIES}
        for r, p in RELAYS.items():
            cols[p] = fmt(f, med(vals[r]))
        md.append("| {} | {} | {} | | | | |".format(
            label, " | ".join(cols[p] for p in PROXIES), NAMES[best]))
    if relay:
        t["relay"] = relay
    md.append("")
    md.append("Every round, in order ({} worker{} each):".format(w, "" if w == 1 else "s"))
    md.append("")
    md.append("| figure | " + " | ".join(NAMES[p] for p in PROXIES) + " | OpenSSL floor |")
    md.append("|---|" + "---|" * (len(PROXIES) + 1))
    for k, (label, limit, f) in KINDS.items():
        cells = [" / ".join(f.format(x) for x in rounds("w{}.{}.{}".format(w, p, k))) or "-" for p in PROXIES]
        fl = " / ".join("{:.1f}".format(x) for x in rounds("w{}.floor.hs".format(w))) if k == "hs" else ""
        md.append("| {} | {} | {} |".format(label, " | ".join(cells), fl))
    for extra, lab, k in (("nacred_t1", "nacred, session_tickets = 1, hsload (µs)", "hs"),
                          ("nacred_spread", 'nacred, balance = "spread", hsload (µs)', "hs"),
                          ("nacred_spread", 'nacred, balance = "spread", keep-alive (µs)', "ka")):
        x = rounds("w{}.{}.{}".format(w, extra, k))
        if x:
            md.append("| {} | {} | | | | | |".format(lab, " / ".join("{:.2f}".format(v) for v in x)))
    for k, (label, f) in RELAY_KINDS.items():
        if not any(rounds("w{}.{}.{}".format(w, r, k)) for r in RELAYS):
            continue
        cells = {p: "" for p in PROXIES}
        for r, p in RELAYS.items():
            cells[p] = " / ".join(f.format(x) for x in rounds("w{}.{}.{}".format(w, r, k))) or "-"
        md.append("| {} | {} | |".format(label, " | ".join(cells[p] for p in PROXIES)))
    hs = " ".join("{} {}".format(NAMES[p], " / ".join("{:.0f}".format(x) for x in rounds("w{}.{}.hs_rps".format(w, p))))
                  for p in PROXIES)
    errs = ", ".join("{} {}".format(NAMES[p], kv.get("w{}.{}.errors".format(w, p), "-"))
                     for p in PROXIES + [r for r in RELAYS if "w{}.{}.errors".format(w, r) in kv])
    md.append("")
    md.append("Context: full handshakes per second reached with hsload (2 shared cores, hsload and the upstream on them too): {}. Errors over all CPU runs: {}.".format(hs, errs))
    bounds_block(w, t)
    return t

def bounds_block(w, t):
    """what no TLS proxy can go below, from the same rounds: the floor plus
    the best relay per connection; the best relay per keep-alive request;
    each target in µs against them (the PASS/MISS verdicts stay as they
    are: on the ratio to the best peer or to the floor)"""
    relay = t.get("relay", {})
    if not relay:
        return
    def against(target, bound):
        return ("below what a relay with no TLS costs: unattainable" if target < bound
                else "above the bound")
    b = {}
    lines = []
    fl = med(t.get("floor", {}).get("rounds", []))
    if "conn" in relay and "hs" in t and fl is not None:
        rc = relay["conn"]["best_median"]
        bound = fl + rc
        peer = t["hs"]["best_peer"]
        peer_us = med(t["hs"]["rounds"][peer])
        nac = med(t["hs"]["rounds"]["nacred"])
        tp, tf = t["hs"]["target"] * peer_us, t["floor"]["target"] * fl
        b["hs"] = {"floor_us": fl, "relay_conn_us": rc, "relay": relay["conn"]["best"],
                   "bound_us": round(bound, 1), "nacred_us": nac,
                   "targets": {"best_peer": {"limit": t["hs"]["target"], "us": round(tp, 1),
                                             "attainable": tp >= bound},
                               "floor": {"limit": t["floor"]["target"], "us": round(tf, 1),
                                         "attainable": tf >= bound}}}
        lines.append("- (a) OpenSSL floor + best relay per connection: {:.1f} + {:.1f} ({}) = **{:.1f} µs**, "
                     "the least CPU a TLS proxy built on OpenSSL could spend per full handshake with one request "
                     "on this machine (nacred, hsload: {}). Targets: {}x best peer handshake (hsload, {} x {:.1f}) "
                     "= {:.1f} µs: {}; {}x floor ({} x {:.1f}) = {:.1f} µs: {}.".format(
                         fl, rc, NAMES[relay["conn"]["best"]], bound,
                         "-" if nac is None else "{:.1f} µs, {:.2f}x the bound".format(nac, nac / bound),
                         t["hs"]["target"], t["hs"]["target"], peer_us, tp, against(tp, bound),
                         t["floor"]["target"], t["floor"]["target"], fl, tf, against(tf, bound)))
    if "ka" in relay and "ka" in t:
        rk = relay["ka"]["best_median"]
        peer = t["ka"]["best_peer"]
        peer_us = med(t["ka"]["rounds"][peer])
        nac = med(t["ka"]["rounds"]["nacred"])
        tp = t["ka"]["target"] * peer_us
        b["ka"] = {"relay_ka_us": rk, "relay": relay["ka"]["best"], "bound_us": round(rk, 2),
                   "nacred_us": nac,
                   "targets": {"best_peer": {"limit": t["ka"]["target"], "us": round(tp, 2),
                                             "attainable": tp >= rk}}}
        lines.append("- (b) best relay per keep-alive request: **{:.2f} µs** ({}) (nacred: {}). "
                     "Target: {}x best peer keep-alive ({} x {:.2f}) = {:.2f} µs: {}.".format(
                         rk, NAMES[relay["ka"]["best"]],
                         "-" if nac is None else "{:.2f} µs, {:.2f}x the bound".format(nac, nac / rk),
                         t["ka"]["target"], t["ka"]["target"], peer_us, tp, against(tp, rk)))
    if not lines:
        return
    t["bounds"] = b
    md.append("")
    md.append("Bounds ({} worker{} each, same rounds; medians): what no TLS proxy can go below on this "
              "machine, from the plain TCP relays (no TLS at all), and each target in µs against them.".format(
                  w, "" if w == 1 else "s"))
    md.append("")
    md.extend(lines)

out["one_worker"] = cpu_table(1)

# ---- idle memory ----
md.append("")
md.append("## Idle memory (one worker each, freshly started, before any CPU run)")
md.append("")
md.append("RSS growth per idle TLS connection: {} connections held, RSS (all the proxy's processes) at steady state "
          "(from 6 s after the last handshake, once two reads a second apart differ by < 1 % of the growth) minus RSS "
          "before (after a 100-connection warm-up), divided by {}. Each round a fresh proxy.".format(nm.get("conns"), nm.get("conns")))
md.append("")
md.append("| | " + " | ".join(NAMES[p] for p in PROXIES) + " |")
md.append("|---|" + "---:|" * len(PROXIES))
idle = {}
rowm, rowr, rows, rowa, rowh, rowt = [], [], [], [], [], []
for p in PROXIES:
    x = rounds("idle.{}.kib".format(p))
    a = rounds("idle.{}.at_ready".format(p))
    m = med(x)
    spread = (max(x) - min(x)) / m if x and m else None
    idle[p] = {"kib_per_conn": x, "median": m, "spread": spread, "at_ready": a,
               "held": kv.get("idle.{}.held".format(p), ""),
               "settle_s": kv.get("idle.{}.settle_s".format(p), "")}
    rowm.append(fmt("{:.2f}", m))
    rowr.append(" / ".join("{:.2f}".format(v) for v in x) or "-")
    rows.append(fmt("{:.0%}", spread))
    rowa.append(" / ".join("{:.2f}".format(v) for v in a) or "-")
    rowh.append(" / ".join(idle[p]["held"].split()) or "-")
    rowt.append(" / ".join(idle[p]["settle_s"].split()) or "-")
md.append("| KiB per connection, median | " + " | ".join(rowm) + " |")
md.append("| ... every round | " + " | ".join(rowr) + " |")
md.append("| ... spread (max - min) / median | " + " | ".join(rows) + " |")
md.append("| KiB per connection 0.5 s after the last handshake, every round | " + " | ".join(rowa) + " |")
md.append("| connections held, every round | " + " | ".join(rowh) + " |")
md.append("| seconds from the last handshake to the steady read | " + " | ".join(rowt) + " |")
out["idle"] = idle
md.append("")
for p, lim in (("nacred", 12), ("nacred_compact", 4)):
    i = idle[p]
    if i["median"] is None:
        continue
    ok = i["median"] <= lim and max(i["kib_per_conn"]) <= lim
    stable = i["spread"] is not None and i["spread"] <= 0.2
    v = "PASS" if ok and stable else "MISS"
    verdicts.append((1, "idle memory, {}".format(NAMES[p]), "≤ {} KiB, every round; spread ≤ 20 %".format(lim),
                     None, v))
    md.append("- {}: {:.2f} KiB median (rounds {}), spread {:.0%}: target ≤ {} KiB in every round and stable (spread ≤ 20 %): **{}**".format(
        NAMES[p], i["median"], " / ".join("{:.2f}".format(v) for v in i["kib_per_conn"]), i["spread"], lim, v))

fb = kv.get("idle.floor_ssl_bytes", "")
if fb:
    fk = int(fb) / 1024
    out["idle_floor_ssl_kib"] = round(fk, 2)
    md.append("- bound: OpenSSL's own live heap per idle TLS 1.3 SSL once its handshake is done "
              "(bench/sslfloor idle: in memory, no sockets, no proxy state, malloc's per-chunk overhead "
              "not counted): {} bytes = **{:.2f} KiB**. With OpenSSL's records (the default) nacred keeps "
              "one SSL per connection, so its figure cannot go below this; the ≤ 12 KiB target is {}.".format(
                  fb, fk, "below the bound: unattainable" if fk > 12 else "above the bound"))

# ---- other one-worker figures ----
md.append("")
md.append("## Other figures (one worker each)")
md.append("")
N = nm.get("conns")
md.append("| | " + " | ".join(NAMES[p] for p in PROXIES) + " |")
md.append("|---|" + "---:|" * len(PROXIES))
md.append("| p50 latency added (ms) | " + " | ".join(kv.get(p + ".p50_ms", "-") for p in PROXIES) + " |")
md.append("| p99 latency added (ms) | " + " | ".join(kv.get(p + ".p99_ms", "-") for p in PROXIES) + " |")
md.append("| {} concurrent handshakes + requests: ok / errors | ".format(N) + " | ".join(
    "{} / {}".format(kv.get(p + ".concurrent_ok", "-"), kv.get(p + ".concurrent_errors", "-")) for p in PROXIES) + " |")
md.append("| negotiated | " + " | ".join(kv.get(p + ".tls", "-") for p in PROXIES) + " |")
md.append("")
md.append("Latency: {}; direct to the upstream p50 {} ms, p99 {} ms. nacred alone: one rotation (key + evidence + certificate) costs {} ms of CPU ({} rotations); its certificate is {} bytes (DER) against {} for a plain self-signed P-256 one (the floor's certificate carries a {}-byte extension to match).".format(
    nm.get("lat_rate"), kv.get("direct.p50_abs_ms"), kv.get("direct.p99_abs_ms"),
    kv.get("nacred_only.rotation_ms"), kv.get("nacred_only.rotations"),
    kv.get("nacred_only.cert_bytes"), kv.get("nacred_only.plain_cert_bytes"), nm.get("floor_pad")))
out["other"] = {p: {"p50_ms": kv.get(p + ".p50_ms"), "p99_ms": kv.get(p + ".p99_ms"),
                    "concurrent_ok": kv.get(p + ".concurrent_ok"),
                    "concurrent_errors": kv.get(p + ".concurrent_errors"),
                    "tls": kv.get(p + ".tls"), "records": kv.get(p + ".records")} for p in PROXIES}
out["nacred_only"] = {k[12:]: v for k, v in kv.items() if k.startswith("nacred_only.")}

out["two_workers"] = cpu_table(2)

md.append("")
md.append("## Targets (default nacred)")
md.append("")
md.append("| workers | figure | target | measured | result |")
md.append("|---|---|---|---|---|")
for w, label, tgt, r, v in verdicts:
    md.append("| {} | {} | {} | {} | {} |".format(w, label, tgt, rtxt(r) if r else "see above", v))
out["verdicts"] = [{"workers": w, "figure": l, "target": t, "ratio": r, "result": v} for w, l, t, r, v in verdicts]

open(D + "/latest.md", "w").write("\n".join(md) + "\n")
json.dump(out, open(D + "/latest.json", "w"), indent=1)

# chart data: one worker, each proxy relative to the best peer
with open(D + "/plot.dat", "w") as f:
    for k, lab in (("hs", "handshake(hsload)"), ("st", "handshake(s_time)"), ("ka", "keep-alive"), ("bulk", "bulk")):
        t = out["one_worker"].get(k)
        if not t:
            continue
        b = med(t["rounds"][t["best_peer"]])
        f.write(lab + " " + " ".join(fmt("{:.3f}", med(t["rounds"][p]) / b if t["rounds"][p] else None)
                                      for p in PROXIES) + " {}\n".format(t["target"]))
