//! The secondary's sans-I/O core (dns/src/secondary) driven with plain std
//! sockets on loopback against real primaries, Knot, NSD and BIND: the key name
//! in the seed's form tells it the zone and the primary, it transfers the
//! zone with TSIG on every message (AXFR first), the primary's NOTIFY to
//! our port makes it check and transfer the new serial (IXFR from Knot and
//! BIND, which keep differences; NSD answers the IXFR with the whole
//! zone, the fallback path), and each time the zone served equals the
//! primary's own AXFR as kdig prints it. A secondary with the wrong secret
//! gets nothing. The refresh timer (1 h) never fires here: only the
//! NOTIFY can bring the second serial in time.

mod common;
use common::*;
use gitns_dns::keys::{Algorithm, Key};
use gitns_dns::name::Name;
use gitns_dns::secondary::{ixfr_apply, source, Action, Now, Received, Secondary};
use gitns_dns::wire::Reader;
use gitns_dns::zone::parser::parse_str;
use gitns_dns::zone::Zone;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ZONE: &str = "sec.test.";
const KEY: &str = "127.0.0.1.127.0.0.1._transfer.sec.test.";
const SECRET: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
const T: Duration = Duration::from_secs(30);

fn zone_text(serial: u32, hosts: u32) -> String {
    let mut z = format!(
        "$ORIGIN {ZONE}\n$TTL 300\n@ SOA ns1 hostmaster {serial} 3600 600 7200 300\n@ NS ns1\n@ NS ns2\n\
         ns1 A 127.0.0.1\nns2 A 127.0.0.2\n@ MX 10 mail\nmail A 192.0.2.25\nwww CNAME @\n\
         _sip._tcp SRV 10 5 5060 sip\nsip AAAA 2001:db8::5\ntxt TXT \"hello world\" \"serial {serial}\"\n"
    );
    // Serial 2 drops the first ten hosts, moves the rest and adds some.
    let first = if serial == 1 { 0 } else { 10 };
    for i in first..hosts {
        let net = if serial == 1 || i % 3 != 0 { 0 } else { 1 };
        z.push_str(&format!("h{i} A 10.{net}.{}.{}\n", i / 256 % 256, i % 256));
        if i % 5 == 0 {
            z.push_str(&format!("h{i} TXT \"record {i} of the secondary test\"\n"));
        }
    }
    if serial > 1 {
        z.push_str("new1 A 192.0.2.1\nnew2 AAAA 2001:db8::2\n");
    }
    z
}

fn key(secret: &str) -> Key {
    use base64::Engine;
    Key {
        name: Name::parse(KEY, &Name::root()).unwrap(),
        algorithm: Algorithm::Sha256,
        secret: base64::engine::general_purpose::STANDARD
            .decode(secret)
            .unwrap(),
    }
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn origin() -> Name {
    Name::parse(ZONE, &Name::root()).unwrap()
}

/// The caller's side of the core: one UDP socket (SOA queries out,
/// NOTIFY in), a TCP connection per transfer, the zone it serves.
struct Driver {
    sec: Secondary,
    udp: UdpSocket,
    /// The same port over TCP: Knot 3.2 sends its NOTIFY over TCP.
    tcp: TcpListener,
    start: Instant,
    served: Option<Zone>,
    /// (request type of the transfer, what came back)
    transfers: Vec<(u16, &'static str)>,
    /// Messages of transfers without a TSIG (NSD signs every 96th).
    unsigned_messages: usize,
    notifies: usize,
    log: Vec<String>,
    id: u16,
}

impl Driver {
    fn new(k: Key, primary_port: u16) -> Driver {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
                tcp.set_nonblocking(true).unwrap();
                break (udp, tcp);
            }
        };
        let sources = source::of_keys(&[k], source::Primary::Named(primary_port), &[]);
        assert_eq!(sources.len(), 1, "the key names the zone and the primary");
        Driver {
            sec: Secondary::new(sources, 0),
            udp,
            tcp,
            start: Instant::now(),
            served: None,
            transfers: Vec::new(),
            unsigned_messages: 0,
            notifies: 0,
            log: Vec::new(),
            id: 0x1234,
        }
    }

    fn port(&self) -> u16 {
        self.udp.local_addr().unwrap().port()
    }

    fn now(&self) -> Now {
        Now {
            mono_ms: self.start.elapsed().as_millis() as u64,
            wall: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
        }
    }

    /// Run the core until `done` holds or `limit` passes.
    fn run_until(&mut self, limit: Duration, done: impl Fn(&Driver) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            let mut id = self.id;
            let acts = self.sec.poll(self.now(), &mut || {
                id = id.wrapping_mul(75).wrapping_add(74);
                id
            });
            self.id = id;
            for a in acts {
                self.act(a);
            }
            if done(self) {
                return true;
            }
            self.receive_tcp();
            self.receive_udp();
        }
        false
    }

    /// A NOTIFY over TCP: one message in, the answer out.
    fn receive_tcp(&mut self) {
        let Ok((mut c, from)) = self.tcp.accept() else {
            return;
        };
        let ip = from.ip();
        c.set_nonblocking(false).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut len = [0u8; 2];
        if c.read_exact(&mut len).is_err() {
            return;
        }
        let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
        if c.read_exact(&mut m).is_err() {
            return;
        }
        self.notify(&m, ip, |a| {
            let mut framed = (a.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(a);
            let _ = c.write_all(&framed);
        });
    }

    fn notify(&mut self, msg: &[u8], from: std::net::IpAddr, mut send: impl FnMut(&[u8])) {
        if let Some(answer) = self.sec.on_notify(msg, from, self.now()) {
            if answer[3] & 0xf == 0 {
                self.notifies += 1;
            }
            send(&answer);
        }
    }

    fn receive_udp(&mut self) {
        let now = self.now();
        let wait = self
            .sec
            .deadline()
            .map_or(200, |d| d.saturating_sub(now.mono_ms))
            .clamp(1, 200);
        self.udp
            .set_read_timeout(Some(Duration::from_millis(wait)))
            .unwrap();
        let mut buf = [0u8; 65_535];
        let Ok((n, from)) = self.udp.recv_from(&mut buf) else {
            return;
        };
        let ip = from.ip();
        let msg = &buf[..n];
        let opcode = msg.get(2).map_or(0, |b| (b >> 3) & 0xf);
        if opcode == 4 && msg[2] & 0x80 == 0 {
            let udp = self.udp.try_clone().unwrap();
            self.notify(msg, ip, |a| {
                let _ = udp.send_to(a, from);
            });
            return;
        }
        self.sec.on_udp(msg, from, self.now(), &mut || 0x4321);
    }

    fn act(&mut self, a: Action) {
        match a {
            Action::Query { to, msg } => {
                self.udp.send_to(&msg, to).unwrap();
            }
            Action::Transfer { to, zone, msg } => self.transfer(to, &zone, &msg),
            Action::Install { data, .. } => self.install(data),
            Action::Expire { .. } => self.served = None,
            Action::Log(l) => {
                eprintln!("{l}");
                self.log.push(l);
            }
            Action::Close { .. } | Action::Dropped { .. } => {}
        }
    }

    /// One transfer over TCP: request out, messages in until the core
    /// has what it needs or the primary closes.
    fn transfer(&mut self, to: std::net::SocketAddr, zone: &Name, msg: &[u8]) {
        let mut r = Reader::message(msg, 12);
        r.name().unwrap();
        let qtype = r.u16().unwrap();
        self.transfers.push((qtype, "started"));
        let Ok(mut c) = TcpStream::connect(to) else {
            return self.sec.on_closed(zone, self.now());
        };
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(msg);
        c.write_all(&framed).unwrap();
        loop {
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                return self.sec.on_closed(zone, self.now());
            }
            let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
            if c.read_exact(&mut m).is_err() {
                return self.sec.on_closed(zone, self.now());
            }
            if m.len() >= 12 && m[10..12] == [0, 0] {
                self.unsigned_messages += 1;
            }
            if !self.sec.on_transfer(zone, &m, self.now()) {
                return;
            }
        }
    }

    fn install(&mut self, data: Received) {
        let kind = match data {
            Received::Full(z) => {
                self.served = Some(z);
                "full"
            }
            Received::Incremental(d) => {
                let z = self.served.as_mut().expect("IXFR onto a zone we serve");
                if ixfr_apply::apply(z, &d).is_err() {
                    self.sec.apply_failed(&origin(), self.now());
                }
                "incremental"
            }
            Received::Current(_) => "current",
        };
        if let Some(last) = self.transfers.last_mut() {
            last.1 = kind;
        }
    }

    fn serial(&self) -> Option<u32> {
        self.served.as_ref().and_then(|z| z.serial())
    }
}

/// The primary's AXFR of the zone as kdig prints it, as a zone.
fn kdig_axfr(port: u16) -> Zone {
    let out = Command::new("kdig")
        .args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            "-y",
            &format!("hmac-sha256:{KEY}:{SECRET}"),
            "AXFR",
            ZONE,
            "+noall",
            "+answer",
            "+nocrypto",
        ])
        .output()
        .expect("kdig");
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty() && !l.contains("\tTSIG\t"))
        .collect();
    assert!(lines.len() > 100, "kdig AXFR: {text}");
    let p = parse_str("kdig", &lines.join("\n"), &origin()).unwrap();
    Zone::from_records(origin(), &p.records)
}

/// `program` with `args` on the host (loopback only), its output dropped,
/// owning `dir` (removed when it is dropped).
fn spawn(program: &str, args: &[&std::ffi::OsStr], dir: &std::path::Path, port: u16) -> Daemon {
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    Daemon {
        child,
        dir: dir.to_path_buf(),
        port,
    }
}

fn knot_primary(dir: &std::path::Path, port: u16, notify_port: u16) -> Daemon {
    let conf = format!(
        "server:\n  listen: 127.0.0.1@{port}\n  rundir: {d}\n  user: root\n\
         database:\n  storage: {d}\n\
         control:\n  listen: {d}/knot.sock\n\
         log:\n  - target: {d}/knot.log\n    any: info\n\
         key:\n  - id: {KEY}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
         remote:\n  - id: us\n    address: 127.0.0.1@{notify_port}\n    key: {KEY}\n\
         acl:\n  - id: xfr\n    key: {KEY}\n    action: transfer\n\
         template:\n  - id: default\n    storage: {d}\n    zonefile-load: difference\n    journal-content: changes\n\
         zone:\n  - domain: {ZONE}\n    file: sec.test.zone\n    notify: us\n    acl: xfr\n",
        d = dir.display()
    );
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    let conf = dir.join("knot.conf");
    spawn("knotd", &["-c".as_ref(), conf.as_os_str()], dir, port)
}

fn nsd_primary(dir: &std::path::Path, port: u16, notify_port: u16) -> Daemon {
    let conf = format!(
        "server:\n  ip-address: 127.0.0.1\n  port: {port}\n  username: \"\"\n  zonesdir: \"{d}\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  \
         zonelistfile: \"{d}/zone.list\"\n  verbosity: 2\n  rrl-ratelimit: 0\n\
         remote-control:\n  control-enable: no\n\
         key:\n  name: \"{KEY}\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\n\
         zone:\n  name: {ZONE}\n  zonefile: sec.test.zone\n  provide-xfr: 127.0.0.1 {KEY}\n  \
         notify: 127.0.0.1@{notify_port} {KEY}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let conf = dir.join("nsd.conf");
    spawn(
        "/usr/sbin/nsd",
        &["-d".as_ref(), "-c".as_ref(), conf.as_os_str()],
        dir,
        port,
    )
}

fn bind_primary(dir: &std::path::Path, port: u16, notify_port: u16) -> Daemon {
    let d = dir.display();
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  listen-on port {port} {{ 127.0.0.1; }};\n  listen-on-v6 {{ none; }};\n  \
         pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  \
         recursion no;\n  dnssec-validation no;\n  notify explicit;\n  ixfr-from-differences yes;\n  \
         also-notify {{ 127.0.0.1 port {notify_port} key \"{KEY}\"; }};\n}};\n\
         key \"{KEY}\" {{ algorithm hmac-sha256; secret \"{SECRET}\"; }};\n\
         zone \"{ZONE}\" {{ type primary; file \"{d}/sec.test.zone\"; allow-transfer {{ key \"{KEY}\"; }}; }};\n"
    );
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let conf = dir.join("named.conf");
    spawn(
        "/usr/sbin/named",
        &["-f".as_ref(), "-c".as_ref(), conf.as_os_str()],
        dir,
        port,
    )
}

/// Wait until the primary answers for the zone (it loads in the background).
fn wait_primary(port: u16) {
    let end = Instant::now() + T;
    while Instant::now() < end {
        let out = Command::new("kdig")
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                ZONE,
                "SOA",
                "+short",
                "+time=1",
                "+retry=0",
            ])
            .output()
            .expect("kdig");
        if String::from_utf8_lossy(&out.stdout).contains("hostmaster") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the primary on port {port} never served {ZONE}");
}

/// The common steps: first load by AXFR, the primary's change announced by
/// its NOTIFY, the new serial transferred; both equal the primary's AXFR.
/// `reload` makes the primary load the new zone file.
fn follow(port: u16, driver: &mut Driver, hosts: u32, dir: &std::path::Path, reload: &dyn Fn()) {
    wait_primary(port);
    assert!(
        driver.run_until(T, |d| d.serial() == Some(1)),
        "no first load: {:?}",
        driver.log
    );
    assert_eq!(driver.transfers[0], (252, "full"), "AXFR first");
    assert_eq!(driver.served.as_ref().unwrap(), &kdig_axfr(port));
    std::fs::write(dir.join("sec.test.zone"), zone_text(2, hosts)).unwrap();
    reload();
    assert!(
        driver.run_until(T, |d| d.serial() == Some(2)),
        "the NOTIFY did not bring serial 2: {:?}\n{}",
        driver.log,
        std::fs::read_to_string(dir.join("knot.log")).unwrap_or_default()
    );
    assert!(driver.notifies >= 1, "the primary's NOTIFY was answered");
    assert_eq!(
        driver.transfers.last().unwrap().0,
        251,
        "IXFR after the first load"
    );
    assert_eq!(driver.served.as_ref().unwrap(), &kdig_axfr(port));
}

#[test]
fn secondary_core_follows_knot() {
    if !needs(
        "secondary_core_follows_knot",
        have_program("knotd") && have_program("kdig"),
        "knotd and kdig",
    ) {
        return;
    }
    let dir = peer_dir("seccore-knot");
    std::fs::write(dir.join("sec.test.zone"), zone_text(1, 3000)).unwrap();
    let port = free_port();
    let mut driver = Driver::new(key(SECRET), port);
    let _knot = knot_primary(&dir, port, driver.port());
    let conf = dir.join("knot.conf");
    let reload = || {
        let st = Command::new("knotc")
            .arg("-c")
            .arg(&conf)
            .args(["zone-reload", ZONE])
            .stdout(Stdio::null())
            .status()
            .expect("knotc");
        assert!(st.success(), "knotc zone-reload");
    };
    follow(port, &mut driver, 3000, &dir, &reload);
    // Knot keeps the difference (zonefile-load: difference): a real IXFR.
    assert_eq!(driver.transfers.last().unwrap(), &(251, "incremental"));

    // The control: the wrong secret gets nothing from the same primary.
    let mut wrong = Driver::new(key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), port);
    assert!(!wrong.run_until(Duration::from_secs(3), |d| d.served.is_some()));
    assert!(
        wrong
            .log
            .iter()
            .any(|l| l.contains("RCODE 9") || l.contains("TSIG")),
        "{:?}",
        wrong.log
    );
}

#[test]
fn secondary_core_follows_nsd() {
    if !needs(
        "secondary_core_follows_nsd",
        have_program("nsd") && have_program("kdig"),
        "nsd and kdig",
    ) {
        return;
    }
    let dir = peer_dir("seccore-nsd");
    // Many messages (NSD's are at most 16 KiB).
    let hosts = 20_000;
    std::fs::write(dir.join("sec.test.zone"), zone_text(1, hosts)).unwrap();
    let port = free_port();
    let mut driver = Driver::new(key(SECRET), port);
    let nsd = nsd_primary(&dir, port, driver.port());
    let pid = nsd.child.id();
    let reload = || {
        // SIGHUP: NSD rereads changed zone files and notifies.
        let st = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(st.success());
    };
    follow(port, &mut driver, hosts, &dir, &reload);
    // NSD 4.6 signs every message (as RFC 8945 5.3.1 now asks; older
    // NSDs signed every 96th): the unsigned runs are covered by the unit
    // tests of dns/src/secondary/tsig_chain.rs, and counted here.
    eprintln!("NSD: {} messages without TSIG", driver.unsigned_messages);
    // NSD 4.6 keeps no differences: the IXFR is answered with the zone.
    assert_eq!(driver.transfers.last().unwrap(), &(251, "full"));
}

#[test]
fn secondary_core_follows_bind() {
    if !needs(
        "secondary_core_follows_bind",
        have_program("named") && have_program("kdig"),
        "named (bind9) and kdig",
    ) {
        return;
    }
    let dir = peer_dir("seccore-bind");
    std::fs::write(dir.join("sec.test.zone"), zone_text(1, 3000)).unwrap();
    let port = free_port();
    let mut driver = Driver::new(key(SECRET), port);
    let named = bind_primary(&dir, port, driver.port());
    let pid = named.child.id();
    let file = dir.join("sec.test.zone");
    let reload = || {
        // named reloads a zone file only when its time moved past the load.
        let later = SystemTime::now() + Duration::from_secs(5);
        let f = std::fs::File::options().write(true).open(&file).unwrap();
        f.set_modified(later).unwrap();
        let st = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(st.success());
    };
    follow(port, &mut driver, 3000, &dir, &reload);
    // ixfr-from-differences: BIND answers the IXFR with the difference.
    assert_eq!(driver.transfers.last().unwrap(), &(251, "incremental"));
}
