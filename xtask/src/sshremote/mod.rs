//! An embedded git-over-SSH remote (russh server, host side) for `cargo
//! xtask demo` and fault-injection tests: it serves one in-memory
//! repository to exactly one ed25519 user key, running git-upload-pack and
//! git-receive-pack itself ([`service`]), so the demo needs neither OpenSSH
//! nor git. Faults: refuse pushes, drop the connection after N bytes,
//! stall after the advertisement, garbage instead of pkt-lines.

pub mod repo;
pub mod service;

use repo::Repo;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::PrivateKey;
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId};
use service::Service;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// Faults to inject.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Answer every ref update with `ng`.
    pub reject_pushes: bool,
    /// Close the connection once this many bytes of git data were sent.
    pub drop_after_bytes: Option<usize>,
    /// Send the ref advertisement, then nothing more.
    pub stall: bool,
    /// Send bytes that are not pkt-lines instead of the advertisement.
    pub garbage: bool,
    /// Refuse `env VAR=... git-upload-pack` as git-shell does (otherwise
    /// the environment is ignored and v0 served, as by an old git).
    pub refuse_env: bool,
}

/// A running remote; stops when dropped.
pub struct SshRemote {
    addr: SocketAddr,
    host_key: [u8; 32],
    pub repo: Arc<Mutex<Repo>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SshRemote {
    /// Serve `repo` on `listener` (bound by the caller, e.g. inside a
    /// network namespace) to the user key `user_key`.
    pub fn start(
        listener: TcpListener,
        repo: Repo,
        user_key: [u8; 32],
        faults: Faults,
    ) -> Result<SshRemote, String> {
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
        let pair = Ed25519Keypair::from_seed(&seed);
        let host_key = pair.public.0;
        let key =
            PrivateKey::new(KeypairData::Ed25519(pair), "gitns-demo").map_err(|e| e.to_string())?;
        let config = Arc::new(russh::server::Config {
            keys: vec![key],
            auth_rejection_time: std::time::Duration::from_millis(100),
            inactivity_timeout: Some(std::time::Duration::from_secs(60)),
            nodelay: true,
            ..Default::default()
        });
        let repo = Arc::new(Mutex::new(repo));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = repo.clone();
        let thread = std::thread::Builder::new()
            .name("ssh-remote".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => return eprintln!("ssh remote: {e}"),
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    loop {
                        tokio::select! {
                            _ = &mut stopped => return,
                            acc = listener.accept() => {
                                let Ok((stream, _)) = acc else { continue };
                                let h = Conn { repo: shared.clone(), user_key, faults, services: HashMap::new(), sent: 0 };
                                let config = config.clone();
                                tokio::spawn(async move {
                                    if let Ok(s) = russh::server::run_stream(config, stream, h).await {
                                        let _ = s.await;
                                    }
                                });
                            }
                        }
                    }
                });
            })
            .map_err(|e| e.to_string())?;
        Ok(SshRemote {
            addr,
            host_key,
            repo,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `SHA256:<unpadded base64>` of the host key, as `ssh-keygen -lf`.
    pub fn fingerprint(&self) -> String {
        gitns_git::ssh::fingerprint_ed25519(&self.host_key)
    }
}

impl Drop for SshRemote {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One client connection.
struct Conn {
    repo: Arc<Mutex<Repo>>,
    user_key: [u8; 32],
    faults: Faults,
    services: HashMap<ChannelId, Service>,
    sent: usize,
}

impl Conn {
    /// Send git data, honouring the drop fault; Err closes the connection.
    fn send(
        &mut self,
        ch: ChannelId,
        data: Vec<u8>,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.sent += data.len();
        if let Some(limit) = self.faults.drop_after_bytes {
            if self.sent > limit {
                let keep = data.len().saturating_sub(self.sent - limit);
                session.data(ch, data[..keep].to_vec())?;
                return Err(russh::Error::Disconnect);
            }
        }
        session.data(ch, data)
    }

    fn finish(
        &mut self,
        ch: ChannelId,
        status: u32,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        self.services.remove(&ch);
        session.exit_status_request(ch, status)?;
        session.eof(ch)?;
        session.close(ch)
    }
}

impl russh::server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let ok = key
            .public_key
            .key_data()
            .ed25519()
            .is_some_and(|k| k.0 == self.user_key);
        Ok(if ok { Auth::Accept } else { Auth::reject() })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        ch: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let mut command = String::from_utf8_lossy(data).into_owned();
        if !self.faults.refuse_env {
            command = service::strip_env(&command).to_string();
        }
        let started = {
            let repo = self.repo.lock().map_err(|_| russh::Error::Disconnect)?;
            Service::start(&command, &repo)
        };
        match started {
            Ok((svc, advert)) => {
                session.channel_success(ch)?;
                self.services.insert(ch, svc);
                let advert = if self.faults.garbage {
                    b"zz\x00\x01not a pkt-line".to_vec()
                } else {
                    advert
                };
                self.send(ch, advert, session)
            }
            Err(msg) => {
                session.channel_success(ch)?;
                session.extended_data(ch, 1, format!("{msg}\n").into_bytes())?;
                self.finish(ch, 1, session)
            }
        }
    }

    async fn data(
        &mut self,
        ch: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.faults.stall {
            return Ok(());
        }
        let Some(svc) = self.services.get_mut(&ch) else {
            return Ok(());
        };
        let step = {
            let mut repo = self.repo.lock().map_err(|_| russh::Error::Disconnect)?;
            svc.input(&mut repo, data, self.faults.reject_pushes)
        };
        match step {
            Ok(step) => {
                self.send(ch, step.out, session)?;
                if step.finished {
                    self.finish(ch, 0, session)?;
                }
                Ok(())
            }
            Err(msg) => {
                session.extended_data(ch, 1, format!("fatal: {msg}\n").into_bytes())?;
                self.finish(ch, 128, session)
            }
        }
    }
}
