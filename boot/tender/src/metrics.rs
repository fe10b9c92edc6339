//! `--metrics=ADDR:PORT`: an HTTP endpoint (axum, on its own thread) with
//! the tender's counters and the guest's own report (METRICS hypercall):
//! `/metrics` in Prometheus text format, `/status` as JSON and `/` as a
//! small HTML page. It binds only the address given and shows no secret:
//! the guest's report holds counters and names, never keys.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What the endpoint shows, published by the vCPU loop.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub calls: Vec<u64>,
    pub frames_in: u64,
    pub frames_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// VM exits for port I/O (hypercalls).
    pub exits: u64,
    /// KVM_RUN interrupted by a signal (EINTR/EAGAIN).
    pub exits_interrupted: u64,
    pub restarts: u64,
    pub mem_bytes: u64,
    pub guest: String,
}

pub type Shared = Arc<Mutex<State>>;

const CALL_NAMES: [(usize, &str); 10] = [
    (1, "walltime"),
    (2, "puts"),
    (3, "poll"),
    (4, "block_write"),
    (5, "block_read"),
    (6, "net_write"),
    (7, "net_read"),
    (8, "halt"),
    (32, "net_exchange"),
    (33, "metrics"),
];

/// The Prometheus text of `s`.
pub fn render(s: &State) -> String {
    let mut o = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, lines: &[(String, u64)]| {
        let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in lines {
            let _ = writeln!(o, "{name}{labels} {v}");
        }
    };
    let calls: Vec<(String, u64)> = CALL_NAMES
        .iter()
        .map(|(i, n)| {
            (
                format!("{{call=\"{n}\"}}"),
                s.calls.get(*i).copied().unwrap_or(0),
            )
        })
        .collect();
    metric(
        "gitns_tender_hypercalls_total",
        "counter",
        "Hypercalls served, by call.",
        &calls,
    );
    metric(
        "gitns_tender_vm_exits_total",
        "counter",
        "VM exits by reason (every other reason ends the VM).",
        &[
            ("{reason=\"io\"}".to_string(), s.exits),
            ("{reason=\"interrupted\"}".to_string(), s.exits_interrupted),
        ],
    );
    let dir = |a: u64, b: u64| {
        vec![
            ("{direction=\"in\"}".to_string(), a),
            ("{direction=\"out\"}".to_string(), b),
        ]
    };
    metric(
        "gitns_tender_net_frames_total",
        "counter",
        "Frames on the service device.",
        &dir(s.frames_in, s.frames_out),
    );
    metric(
        "gitns_tender_net_bytes_total",
        "counter",
        "Bytes on the service device.",
        &dir(s.bytes_in, s.bytes_out),
    );
    metric(
        "gitns_tender_guest_restarts_total",
        "counter",
        "Guest restarts by --restart-on-fail.",
        &[(String::new(), s.restarts)],
    );
    metric(
        "gitns_tender_guest_memory_bytes",
        "gauge",
        "Guest memory size.",
        &[(String::new(), s.mem_bytes)],
    );
    o.push_str(&s.guest);
    if !s.guest.is_empty() && !s.guest.ends_with('\n') {
        o.push('\n');
    }
    o
}

/// Every sample line of the Prometheus text as (name with labels, value).
fn samples(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.rsplit_once(' '))
        .collect()
}

fn json_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// `/status` as JSON: every sample, by its full name.
pub fn status_json(s: &State) -> String {
    let text = render(s);
    let body: Vec<String> = samples(&text)
        .iter()
        .map(|(k, v)| {
            format!(
                "\"{}\": {}",
                json_escape(k),
                v.parse::<f64>()
                    .map(|_| v.to_string())
                    .unwrap_or_else(|_| format!("\"{}\"", json_escape(v)))
            )
        })
        .collect();
    format!("{{\"metrics\": {{{}}}}}\n", body.join(", "))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `/`: the samples as a table.
pub fn status_html(s: &State) -> String {
    let text = render(s);
    let mut rows = String::new();
    for (k, v) in samples(&text) {
        let _ = writeln!(
            rows,
            "<tr><td>{}</td><td>{}</td></tr>",
            html_escape(k),
            html_escape(v)
        );
    }
    format!("<!doctype html><html><head><meta charset=\"utf-8\"><title>gitns</title></head><body><h1>gitns</h1><p><a href=\"/metrics\">/metrics</a> · <a href=\"/status\">/status</a></p><table>\n{rows}</table></body></html>\n")
}

/// Bind `addr` (before the sandbox: the filter allows no new socket).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, String> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|e| format!("--metrics={addr}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(listener)
}

/// Serve `shared` on `listener` from a thread of its own, which installs
/// its own seccomp filter (sandbox::METRICS) once its runtime is built and
/// before it serves; returns when the filter is in place.
pub fn serve(listener: std::net::TcpListener, shared: Shared) -> Result<(), String> {
    let (ready, started) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("metrics runtime: {e}"));
            let rt = match rt {
                Ok(rt) => rt,
                Err(e) => return drop(ready.send(Err(e))),
            };
            let listener = {
                let _guard = rt.enter();
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())
            };
            let locked = listener
                .and_then(|l| crate::sandbox::lock(crate::sandbox::Role::Metrics).map(|()| l));
            let listener = match locked {
                Ok(l) => l,
                Err(e) => return drop(ready.send(Err(e))),
            };
            let _ = ready.send(Ok(()));
            rt.block_on(async move {
                let _ = axum::serve(listener, app(shared)).await;
            });
        })
        .map_err(|e| e.to_string())?;
    started
        .recv()
        .map_err(|_| "metrics thread ended before serving".to_string())?
}

fn app(shared: Shared) -> axum::Router {
    use axum::routing::get;
    let (a, b, c) = (shared.clone(), shared.clone(), shared);
    let snap = |s: &Shared| s.lock().map(|g| g.clone()).unwrap_or_default();
    axum::Router::new()
        .route(
            "/metrics",
            get(move || async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    render(&snap(&a)),
                )
            }),
        )
        .route(
            "/status",
            get(move || async move {
                (
                    [("content-type", "application/json")],
                    status_json(&snap(&b)),
                )
            }),
        )
        .route(
            "/",
            get(move || async move { axum::response::Html(status_html(&snap(&c))) }),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_json_and_html_carry_every_sample() {
        let s = State {
            calls: vec![0, 3, 0, 0, 0, 0, 0, 0, 0],
            frames_in: 5,
            guest: "gitns_zone_serial{zone=\"a<b\"} 7\n".into(),
            ..Default::default()
        };
        let t = render(&s);
        assert!(t.contains("gitns_tender_hypercalls_total{call=\"walltime\"} 3\n"));
        assert!(t.contains("gitns_tender_net_frames_total{direction=\"in\"} 5\n"));
        assert!(t.ends_with("gitns_zone_serial{zone=\"a<b\"} 7\n"));
        let j = status_json(&s);
        assert!(
            j.contains("\"gitns_zone_serial{zone=\\\"a<b\\\"}\": 7"),
            "{j}"
        );
        assert!(status_html(&s).contains("gitns_zone_serial{zone=&quot;a&lt;b&quot;}"));
    }
}
