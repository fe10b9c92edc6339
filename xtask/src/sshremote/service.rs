//! The server side of git-upload-pack and git-receive-pack, protocol v0
//! (gitprotocol-pack), sans-I/O over the demo remote's [`Repo`]: bytes
//! from the client in, bytes to the client out, and "finished".

use super::repo::Repo;
use gitns_git::object::{self, Object};
use gitns_git::oid::Oid;
use gitns_git::pack::{self, Limits, PackError};
use gitns_git::pktline::{self, Pkt};
use std::collections::BTreeSet;

/// Largest side-band payload (65520 - 4 length - 1 band byte).
const BAND_MAX: usize = 65515;

/// What one call produced.
#[derive(Debug, Default)]
pub struct Step {
    pub out: Vec<u8>,
    /// The command is over: exit status 0 and close.
    pub finished: bool,
}

/// A running service.
pub enum Service {
    Upload(Upload),
    Receive(Receive),
}

impl Service {
    /// Start `command` (`git-upload-pack '<path>'` or `git-receive-pack
    /// '<path>'`, with or without the dash); Err for anything else.
    pub fn start(command: &str, repo: &Repo) -> Result<(Service, Vec<u8>), String> {
        let name = command.split_whitespace().next().unwrap_or("");
        match name {
            "git-upload-pack" | "git upload-pack" => Ok((
                Service::Upload(Upload::default()),
                advert(repo, UPLOAD_CAPS),
            )),
            "git-receive-pack" => Ok((
                Service::Receive(Receive::default()),
                advert(repo, RECEIVE_CAPS),
            )),
            _ => Err(format!(
                "gitns demo remote: `{command}` is not a git command it serves"
            )),
        }
    }

    pub fn input(
        &mut self,
        repo: &mut Repo,
        data: &[u8],
        reject_pushes: bool,
    ) -> Result<Step, String> {
        match self {
            Service::Upload(u) => u.input(repo, data),
            Service::Receive(r) => r.input(repo, data, reject_pushes),
        }
    }
}

/// `env A=1 B=2 git-upload-pack 'p'` -> `git-upload-pack 'p'`.
pub fn strip_env(command: &str) -> &str {
    let Some(mut rest) = command.strip_prefix("env ") else {
        return command;
    };
    loop {
        let word = rest.split(' ').next().unwrap_or("");
        if !word.contains('=') {
            return rest;
        }
        rest = rest[word.len()..].trim_start();
    }
}

const UPLOAD_CAPS: &str = "side-band-64k ofs-delta shallow no-progress agent=gitns-demo";
const RECEIVE_CAPS: &str = "report-status side-band-64k agent=gitns-demo";

/// The ref advertisement: HEAD and the branch, or the empty-repo form.
fn advert(repo: &Repo, caps: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match repo.head {
        Some(h) => {
            let sym = format!(" symref=HEAD:refs/heads/{}", repo.branch);
            let upload = caps == UPLOAD_CAPS;
            let first = if upload {
                format!("{h} HEAD\0{caps}{sym}\n")
            } else {
                format!("{h} refs/heads/{}\0{caps}\n", repo.branch)
            };
            pktline::encode(&mut out, first.as_bytes());
            if upload {
                pktline::encode(
                    &mut out,
                    format!("{h} refs/heads/{}\n", repo.branch).as_bytes(),
                );
            }
        }
        None => {
            let zero = Oid([0; 20]);
            pktline::encode(
                &mut out,
                format!("{zero} capabilities^{{}}\0{caps}\n").as_bytes(),
            );
        }
    }
    pktline::flush(&mut out);
    out
}

/// Take the complete pkt-lines at the front of `buf`.
fn packets(buf: &mut Vec<u8>) -> Result<Vec<Option<Vec<u8>>>, String> {
    let mut out = Vec::new();
    let mut used = 0;
    while let Some((p, n)) =
        pktline::decode(&buf[used..]).map_err(|_| "bad pkt-line".to_string())?
    {
        used += n;
        out.push(match p {
            Pkt::Data(d) => Some(d.to_vec()),
            _ => None,
        });
    }
    buf.drain(..used);
    Ok(out)
}

/// `data` in side-band channel 1 packets.
fn band1(out: &mut Vec<u8>, data: &[u8]) {
    for chunk in data.chunks(BAND_MAX) {
        let mut p = Vec::with_capacity(chunk.len() + 1);
        p.push(1);
        p.extend_from_slice(chunk);
        pktline::encode(out, &p);
    }
}

fn oid_after(line: &[u8], prefix: &[u8]) -> Option<Oid> {
    Oid::from_hex(line.strip_prefix(prefix)?.get(..40)?)
}

/// git-upload-pack: wants, optional deepen, haves, done -> NAK and a pack.
#[derive(Default)]
pub struct Upload {
    inbuf: Vec<u8>,
    wants: Vec<Oid>,
    haves: Vec<Oid>,
    deepen: bool,
    sideband: bool,
    shallow_sent: bool,
}

impl Upload {
    fn input(&mut self, repo: &Repo, data: &[u8]) -> Result<Step, String> {
        self.inbuf.extend_from_slice(data);
        let mut step = Step::default();
        for p in packets(&mut self.inbuf)? {
            match p {
                Some(line) => {
                    if let Some(w) = oid_after(&line, b"want ") {
                        if self.wants.is_empty() {
                            self.sideband = line.windows(13).any(|x| x == b"side-band-64k");
                        }
                        if !repo.objects.contains_key(&w) {
                            return Err(format!("not our ref {w}"));
                        }
                        self.wants.push(w);
                    } else if line.starts_with(b"deepen ") {
                        self.deepen = true;
                    } else if let Some(h) = oid_after(&line, b"have ") {
                        self.haves.push(h);
                    } else if line.starts_with(b"done") {
                        self.respond(repo, &mut step.out);
                        step.finished = true;
                        return Ok(step);
                    }
                }
                None if self.wants.is_empty() => {
                    step.finished = true; // nothing wanted (ls-remote, up to date)
                    return Ok(step);
                }
                None if self.deepen && !self.shallow_sent => {
                    // The shallow section answers the end of the want list.
                    for w in &self.wants {
                        pktline::encode(&mut step.out, format!("shallow {w}\n").as_bytes());
                    }
                    pktline::flush(&mut step.out);
                    self.shallow_sent = true;
                }
                None => {}
            }
        }
        Ok(step)
    }

    fn respond(&self, repo: &Repo, out: &mut Vec<u8>) {
        pktline::encode(out, b"NAK\n");
        let pack = pack::write(&self.objects(repo));
        if self.sideband {
            band1(out, &pack);
            pktline::flush(out);
        } else {
            out.extend_from_slice(&pack);
        }
    }

    /// What the wants reach (only their trees when shallow), minus what
    /// the haves reach.
    fn objects(&self, repo: &Repo) -> Vec<Object> {
        let mut have: BTreeSet<Oid> = BTreeSet::new();
        for h in self.haves.iter().filter(|h| repo.objects.contains_key(h)) {
            have.insert(*h);
            have.extend(repo.tree_closure(h));
        }
        let mut send: BTreeSet<Oid> = BTreeSet::new();
        for w in &self.wants {
            let mut at = Some(*w);
            while let Some(c) = at.filter(|c| !have.contains(c) && send.insert(*c)) {
                send.extend(
                    repo.tree_closure(&c)
                        .into_iter()
                        .filter(|o| !have.contains(o)),
                );
                at = if self.deepen {
                    None
                } else {
                    repo.objects
                        .get(&c)
                        .and_then(|o| object::parse_commit(&o.data))
                        .and_then(|p| p.parents.first().copied())
                };
            }
        }
        send.iter()
            .filter_map(|id| repo.objects.get(id).cloned())
            .collect()
    }
}

/// git-receive-pack: ref updates, the pack, report-status.
#[derive(Default)]
pub struct Receive {
    inbuf: Vec<u8>,
    commands: Vec<(Oid, Oid, String)>,
    sideband: bool,
    in_pack: bool,
}

impl Receive {
    fn input(&mut self, repo: &mut Repo, data: &[u8], reject: bool) -> Result<Step, String> {
        self.inbuf.extend_from_slice(data);
        if !self.in_pack {
            self.read_commands()?;
            if !self.in_pack {
                return Ok(Step::default());
            }
            if self.commands.is_empty() {
                return Ok(Step {
                    out: Vec::new(),
                    finished: true,
                });
            }
        }
        // The client may keep its side open after the pack: it is complete
        // once it parses (a short pack fails its checksum: wait for more).
        let known = |id: &Oid| repo.objects.get(id).cloned();
        let objects = match pack::parse(&self.inbuf, Limits::default(), &known) {
            Ok(o) => o,
            Err(PackError::Checksum | PackError::Truncated(_) | PackError::BadHeader)
                if self.inbuf.len() < 64 << 20 =>
            {
                return Ok(Step::default())
            }
            Err(e) => return Err(format!("bad pack: {e:?}")),
        };
        for (id, o) in objects {
            repo.objects.insert(id, o);
        }
        Ok(Step {
            out: self.report(repo, reject),
            finished: true,
        })
    }

    /// Take the ref update commands (pkt-lines up to the flush before the
    /// pack); `in_pack` once they are all in.
    fn read_commands(&mut self) -> Result<(), String> {
        let mut used = 0;
        while let Some((p, n)) =
            pktline::decode(&self.inbuf[used..]).map_err(|_| "bad pkt-line".to_string())?
        {
            used += n;
            let Pkt::Data(line) = p else {
                self.in_pack = true;
                break;
            };
            let (cmd, caps) = match line.iter().position(|&b| b == 0) {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &b""[..]),
            };
            if self.commands.is_empty() {
                self.sideband = caps.windows(13).any(|x| x == b"side-band-64k");
            }
            let text = String::from_utf8_lossy(cmd);
            let mut w = text.split_whitespace();
            let (Some(old), Some(new), Some(name)) = (w.next(), w.next(), w.next()) else {
                return Err(format!("bad command {text:?}"));
            };
            let parse = |s: &str| Oid::from_hex(s.as_bytes()).ok_or(format!("bad id {s}"));
            self.commands
                .push((parse(old)?, parse(new)?, name.to_string()));
        }
        self.inbuf.drain(..used);
        Ok(())
    }

    /// Move the branch for the commands that may, and the report-status
    /// (in band 1 with side-band-64k).
    fn report(&self, repo: &mut Repo, reject: bool) -> Vec<u8> {
        let mut report = Vec::new();
        pktline::encode(&mut report, b"unpack ok\n");
        for (old, new, name) in &self.commands {
            let ours = format!("refs/heads/{}", repo.branch);
            let current = repo.head.unwrap_or(Oid([0; 20]));
            let line = if reject {
                format!("ng {name} pushes are refused by this remote\n")
            } else if *name != ours {
                format!("ng {name} only {ours} is served\n")
            } else if *old != current {
                format!("ng {name} fetch first\n")
            } else if !repo.objects.contains_key(new) {
                format!("ng {name} missing objects\n")
            } else {
                repo.head = Some(*new);
                format!("ok {name}\n")
            };
            pktline::encode(&mut report, line.as_bytes());
        }
        pktline::flush(&mut report);
        if !self.sideband {
            return report;
        }
        let mut out = Vec::new();
        band1(&mut out, &report);
        pktline::flush(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitns_git::checkout::Checkout;
    use gitns_git::object::Signature;
    use gitns_git::proto::fetch::{Fetch, Fetched};
    use gitns_git::proto::push::{Push, Pushed};

    fn sig() -> Signature {
        Signature {
            name: "demo".into(),
            email: "demo@gitns".into(),
            time: 1_700_000_000,
            tz: "+0000".into(),
        }
    }

    /// Run gitns's client state machine against the service in memory.
    fn fetch(repo: &mut Repo, haves: Vec<Oid>) -> Fetched {
        let (mut svc, advert) = Service::start("git-upload-pack 'x'", repo).unwrap();
        let mut f = Fetch::new("main", haves, false, 1 << 20);
        f.input(&advert).unwrap();
        loop {
            let out = f.take_output();
            let step = svc.input(repo, &out, false).unwrap();
            f.input(&step.out).unwrap();
            if let Some(r) = f.result() {
                return r.clone();
            }
            assert!(
                !step.finished || !step.out.is_empty(),
                "service ended without a result"
            );
        }
    }

    fn push(repo: &mut Repo, old: Oid, new: Oid, pack: Vec<u8>, reject: bool) -> Pushed {
        let (mut svc, advert) = Service::start("git-receive-pack 'x'", repo).unwrap();
        let mut p = Push::new("main", old, new, pack);
        p.input(&advert).unwrap();
        let out = p.take_output();
        let step = svc.input(repo, &out, reject).unwrap();
        p.input(&step.out).unwrap();
        p.result().cloned().expect("push result")
    }

    #[test]
    fn clone_fetch_and_push_with_gitns_client() {
        let mut repo = Repo::new("main");
        repo.commit(
            &[("example.org", b"v1\n"), ("_keys", b"k\n")],
            &sig(),
            "one",
        );
        let Fetched::Pack { head, pack } = fetch(&mut repo, vec![]) else {
            panic!()
        };
        let c1 = Checkout::from_pack(&pack, head, Limits::default(), None).unwrap();
        assert_eq!(c1.files().len(), 2);
        repo.commit(&[("example.org", b"v2\n")], &sig(), "two");
        let Fetched::Pack { head, pack } = fetch(&mut repo, vec![c1.head]) else {
            panic!()
        };
        let c2 = Checkout::from_pack(&pack, head, Limits::default(), Some(&c1)).unwrap();
        assert_eq!(c2.files()[1].1, b"v2\n");
        assert!(matches!(
            fetch(&mut repo, vec![c2.head]),
            Fetched::UpToDate(_)
        ));
        let (next, p) = c2
            .commit(
                &[("example.org".into(), Some(b"v3\n".to_vec()))],
                &sig(),
                "three",
            )
            .unwrap();
        assert_eq!(
            push(&mut repo, c2.head, next.head, p.clone(), true),
            Pushed::Rejected("pushes are refused by this remote".into())
        );
        assert_eq!(push(&mut repo, c2.head, next.head, p, false), Pushed::Ok);
        assert_eq!(repo.read_file("example.org").unwrap(), b"v3\n");
        assert_eq!(
            repo.log(3).iter().map(|l| l.2.as_str()).collect::<Vec<_>>(),
            ["three", "two", "one"]
        );
        // Built on an old head: refused before the pack is sent.
        let (n2, p2) = c2
            .commit(
                &[("example.org".into(), Some(b"v4\n".to_vec()))],
                &sig(),
                "four",
            )
            .unwrap();
        assert!(matches!(
            push(&mut repo, c2.head, n2.head, p2, false),
            Pushed::Rejected(_)
        ));
    }

    #[test]
    fn other_commands_and_garbage_are_errors() {
        let mut repo = Repo::new("main");
        repo.commit(&[("a", b"1")], &sig(), "one");
        assert!(Service::start("rm -rf /", &repo).is_err());
        let (mut svc, _) = Service::start("git-upload-pack 'x'", &repo).unwrap();
        assert!(svc.input(&mut repo, b"zzzz", false).is_err());
        let (mut svc, _) = Service::start("git-receive-pack 'x'", &repo).unwrap();
        assert!(svc.input(&mut repo, b"0010notacommand0000", false).is_err());
    }
}
