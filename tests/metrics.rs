//! `gitns-hvt --metrics`: the tender serves its counters and the guest's
//! report over HTTP inside the test's namespace; dig queries, a signed
//! NOTIFY and an nsupdate UPDATE move the matching counters by exactly
//! their amounts; the text parses as Prometheus exposition; `/status` and
//! `/` render; with `--no-extensions` the guest's part is simply absent.

mod common;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn zone(serial: u32) -> String {
    format!("$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.1\n")
}

fn get(ns: &Netns, path: &str) -> String {
    metrics_get(ns, path)
}

/// Parse Prometheus text strictly: HELP and TYPE before a metric's samples,
/// `name{k="v",...} value` sample lines with numeric values.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut typed = std::collections::BTreeSet::new();
    let mut out = BTreeMap::new();
    for l in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = l.strip_prefix("# TYPE ") {
            let mut w = rest.split(' ');
            let name = w.next().unwrap();
            assert!(matches!(w.next(), Some("counter" | "gauge")), "{l}");
            typed.insert(name.to_string());
            continue;
        }
        if l.starts_with("# HELP ") {
            continue;
        }
        let (key, value) = l
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {l:?}"));
        let name = key.split('{').next().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{l}"
        );
        assert!(typed.contains(name), "sample before its TYPE: {l}");
        if let Some(labels) = key.strip_prefix(name) {
            if !labels.is_empty() {
                assert!(labels.starts_with('{') && labels.ends_with('}'), "{l}");
                for kv in labels[1..labels.len() - 1].split("\",") {
                    let (k, v) = kv
                        .split_once("=\"")
                        .unwrap_or_else(|| panic!("label {kv:?} in {l}"));
                    assert!(
                        k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                        "{l}"
                    );
                    assert!(!v.contains('\n'));
                }
            }
        }
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("value in {l}"));
        assert!(out.insert(key.to_string(), v).is_none(), "duplicate {key}");
    }
    out
}

fn scrape(ns: &Netns) -> BTreeMap<String, f64> {
    let r = get(ns, "/metrics");
    let (head, body) = r.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    parse(body)
}

fn boot(ns: &Netns, dev: &std::path::Path, extra: &[&str]) -> Guest {
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg("--metrics=127.0.0.1:9100")
        .args(extra)
        .arg(format!("--net:service={}", ns.tap))
        .arg(format!("--block:storage={}", dev.display()))
        .arg(image_storage())
        .arg("--ipv4=10.0.0.2/24");
    Guest::spawn(c)
}

/// Scrape until `f` holds (the guest reports about once a second).
fn until(
    ns: &Netns,
    what: &str,
    f: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let end = Instant::now() + T;
    loop {
        let m = scrape(ns);
        if f(&m) {
            return m;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}: {m:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn metrics_move_with_queries_notify_and_update() {
    let t = "metrics_move_with_queries_notify_and_update";
    if !kvm_or_skip(t) || !netns_or_skip(t) {
        return;
    }
    let ns = netns("metrics");
    let keys = format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n");
    let dev = zone_device(
        &ns,
        &[
            ("x25519.net", &zone(5)),
            ("x25519.net._keys", &keys),
            ("broken.test", "$TTL 60\n@ SOA ns hm 1 2 3 4\n"),
        ],
    );
    let g = boot(&ns, &dev, &[]);
    g.wait_for(" ready", T);
    let k = |s: &str| s.to_string();
    let serial = k("gitns_zone_serial{zone=\"x25519.net.\"}");
    let before = until(&ns, "the guest's first report", |m| {
        m.get(&serial) == Some(&5.0)
    });
    let at = |m: &BTreeMap<String, f64>, key: &str| m.get(key).copied().unwrap_or(0.0);
    for _ in 0..3 {
        assert!(dig(&ns, &["www.x25519.net", "A", "+short"]).contains("192.0.2.1"));
    }
    assert!(dig(&ns, &["nope.x25519.net", "A"]).contains("NXDOMAIN"));
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    assert!(
        dig(&ns, &["x25519.net", "SOA", "+opcode=notify", "-y", &key]).contains("status: NOERROR")
    );
    let (ok, out) = nsupdate(
        &ns,
        &[
            "-y",
            &format!("hmac-sha256:personal._update.x25519.net:{SECRET}"),
        ],
        "server 10.0.0.2\nzone x25519.net\nupdate add n.x25519.net 60 A 192.0.2.9\nsend\n",
    );
    assert!(ok, "{out}");
    let nx = "gitns_dns_responses_total{transport=\"udp\",rcode=\"NXDOMAIN\"}";
    let after = until(&ns, "the counters to move", |m| {
        m.get(&serial) == Some(&6.0) && at(m, nx) > at(&before, nx)
    });
    assert_eq!(at(&after, nx) - at(&before, nx), 1.0);
    assert_eq!(
        at(&after, "gitns_notify_in_total{rcode=\"NOERROR\"}")
            - at(&before, "gitns_notify_in_total{rcode=\"NOERROR\"}"),
        1.0
    );
    assert_eq!(
        at(&after, "gitns_update_total{rcode=\"NOERROR\"}")
            - at(&before, "gitns_update_total{rcode=\"NOERROR\"}"),
        1.0
    );
    let ok_udp = "gitns_dns_responses_total{transport=\"udp\",rcode=\"NOERROR\"}";
    assert!(
        at(&after, ok_udp) - at(&before, ok_udp) >= 5.0,
        "3 queries, NOTIFY, UPDATE"
    );
    // Per zone: the last change (the UPDATE), the rejected file and why.
    let changed = at(
        &after,
        "gitns_zone_last_change_seconds{zone=\"x25519.net.\"}",
    );
    assert!(changed > 1.7e9, "{changed}");
    let rejected: Vec<&String> = after
        .keys()
        .filter(|k| {
            k.starts_with("gitns_zone_rejected{zone=\"broken.test.\",error=\"broken.test:2:")
        })
        .collect();
    assert_eq!(rejected.len(), 1, "{:?}", after.keys().collect::<Vec<_>>());
    // The guest's heap, and the tender's own counters.
    assert!(at(&after, "gitns_heap_bytes{state=\"used\"}") > 1_000_000.0);
    assert!(at(&after, "gitns_heap_bytes{state=\"free\"}") > 1_000_000.0);
    assert_eq!(
        at(&after, "gitns_tender_guest_memory_bytes"),
        (512u64 << 20) as f64
    );
    assert!(
        at(
            &after,
            "gitns_tender_hypercalls_total{call=\"net_exchange\"}"
        ) > 0.0
    );
    assert!(at(&after, "gitns_tender_hypercalls_total{call=\"metrics\"}") >= 2.0);
    // Every hypercall is a port-I/O exit.
    assert!(
        at(&after, "gitns_tender_vm_exits_total{reason=\"io\"}")
            >= at(
                &after,
                "gitns_tender_hypercalls_total{call=\"net_exchange\"}"
            )
    );
    assert!(at(&after, "gitns_tender_net_frames_total{direction=\"in\"}") >= 5.0);
    // /status as JSON and / as HTML; no secret anywhere.
    let status = get(&ns, "/status");
    assert!(status.contains("application/json"), "{status}");
    assert!(
        status.contains("\"gitns_zone_serial{zone=\\\"x25519.net.\\\"}\": 6"),
        "{status}"
    );
    let html = get(&ns, "/");
    assert!(
        html.contains("<table>") && html.contains("gitns_zones"),
        "{html}"
    );
    for page in [status, html, get(&ns, "/metrics")] {
        assert!(!page.contains(SECRET), "a secret was served");
    }
    drop(g);
    // Without extensions the guest cannot report: the tender's part only.
    let g = boot(&ns, &dev, &["--no-extensions"]);
    g.wait_for(" ready", T);
    let m = until(&ns, "tender counters", |m| {
        at(m, "gitns_tender_hypercalls_total{call=\"net_read\"}") > 0.0
            || at(m, "gitns_tender_hypercalls_total{call=\"poll\"}") > 0.0
    });
    assert!(!m.keys().any(|k| k.starts_with("gitns_zone")), "{m:?}");
    assert!(dig(&ns, &["www.x25519.net", "A", "+short"]).contains("192.0.2.1"));
}
