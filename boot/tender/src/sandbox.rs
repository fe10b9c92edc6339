//! The contained tender: after setup (image read, /dev/kvm, taps and block
//! files open) it can chroot to an empty directory and drop to an
//! unprivileged user (`--chroot=DIR`, `--user=NAME|UID[:GID]`, as the
//! Firecracker jailer does), then sets `no_new_privs` and installs a
//! seccomp-bpf allow-list: every other system call kills the process.
//!
//! Two lists, one per thread (seccomp filters belong to threads): the vCPU
//! thread's ([`VCPU`]) and the metrics server's ([`METRICS`], installed by
//! that thread itself before it serves). Neither uses TSYNC: TSYNC would put
//! the installing thread's filter on the other thread too. Each list says
//! why a call is on it (docs/design.md has the same table).

use std::ffi::CString;
use std::path::PathBuf;

/// `AUDIT_ARCH_X86_64` (linux/audit.h): the only architecture allowed.
const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// Offsets in `struct seccomp_data`: nr, arch, args[1] (low half).
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARG1: u32 = 24;
/// The ioctl type byte of KVM's requests (`KVMIO`, linux/kvm.h).
const KVMIO: u32 = 0xAE;
/// `FIONBIO`: the one ioctl the metrics server's runtime may make.
const FIONBIO: u32 = 0x5421;

/// The confinement asked for on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Jail {
    /// `--user=NAME|UID[:GID]`.
    pub user: Option<String>,
    /// `--chroot=DIR`.
    pub chroot: Option<PathBuf>,
}

/// Which thread a filter is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The main thread: it runs the vCPU and serves hypercalls.
    Vcpu,
    /// The `--metrics` HTTP server's thread.
    Metrics,
}

/// A call allowed only with some values of its second argument: allowed
/// when `args[1] & mask == value` (an ioctl's request, an fcntl's command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArgRule {
    pub nr: libc::c_long,
    pub mask: u32,
    pub value: u32,
    pub why: &'static str,
}

const F_GETFD: u32 = libc::F_GETFD as u32;

/// The vCPU thread's calls allowed by argument.
pub const VCPU_ARGS: &[ArgRule] = &[
    ArgRule {
        nr: libc::SYS_ioctl,
        mask: 0xff00,
        value: KVMIO << 8,
        why: "KVM requests only: KVM_RUN, a restart's KVM_CREATE_VM/VCPU and register setup",
    },
    ArgRule {
        nr: libc::SYS_fcntl,
        mask: !0,
        value: F_GETFD,
        why: "F_GETFD only: std checks an fd is open when it closes it (debug builds)",
    },
];

/// The metrics thread's calls allowed by argument.
pub const METRICS_ARGS: &[ArgRule] = &[
    ArgRule {
        nr: libc::SYS_ioctl,
        mask: !0,
        value: FIONBIO,
        why: "FIONBIO only: non-blocking mode",
    },
    ArgRule {
        nr: libc::SYS_fcntl,
        mask: !0,
        value: F_GETFD,
        why: "F_GETFD only: std's check on closing an fd",
    },
    ArgRule {
        nr: libc::SYS_fcntl,
        mask: !0,
        value: libc::F_GETFL as u32,
        why: "F_GETFL: non-blocking mode of a connection",
    },
    ArgRule {
        nr: libc::SYS_fcntl,
        mask: !0,
        value: libc::F_SETFL as u32,
        why: "F_SETFL: non-blocking mode of a connection",
    },
];

/// The vCPU thread's system calls, with the reason each is there.
pub const VCPU: &[(libc::c_long, &str)] = &[
    (libc::SYS_read, "NET_READ/NET_EXCHANGE: frames from the tap"),
    (
        libc::SYS_write,
        "NET_WRITE/NET_EXCHANGE: frames to the tap; PUTS and messages on stdout/stderr",
    ),
    (libc::SYS_writev, "stdout/stderr writes of std"),
    (libc::SYS_pread64, "BLOCK_READ"),
    (libc::SYS_pwrite64, "BLOCK_WRITE"),
    (
        libc::SYS_fdatasync,
        "BLOCK_WRITE is synced before the guest goes on",
    ),
    (libc::SYS_ppoll, "POLL and NET_EXCHANGE's wait for a frame"),
    (
        libc::SYS_mmap,
        "guest memory and the vCPU's kvm_run area of a restart; the allocator",
    ),
    (
        libc::SYS_munmap,
        "the old VM's memory at a restart; the allocator",
    ),
    (
        libc::SYS_mprotect,
        "guest memory protection per ELF segment at a restart",
    ),
    (libc::SYS_mremap, "the allocator (realloc)"),
    (libc::SYS_madvise, "the allocator returning memory"),
    (libc::SYS_brk, "the allocator"),
    (libc::SYS_close, "the old VM's and vCPU's fds at a restart"),
    (
        libc::SYS_futex,
        "locks: stdout, the metrics state shared with the metrics thread",
    ),
    (
        libc::SYS_clock_gettime,
        "WALLTIME, restart backoff, metrics publishing (when the vDSO falls back)",
    ),
    (libc::SYS_clock_nanosleep, "the restart backoff sleep"),
    (
        libc::SYS_nanosleep,
        "the restart backoff sleep (older libc)",
    ),
    (libc::SYS_sched_yield, "lock contention"),
    (libc::SYS_getrandom, "std's hash seeds"),
    (
        libc::SYS_rt_sigreturn,
        "return from a signal handler (KVM_RUN interrupted)",
    ),
    (
        libc::SYS_rt_sigprocmask,
        "abort() on a panic blocks signals before raising SIGABRT",
    ),
    (libc::SYS_gettid, "abort() on a panic"),
    (libc::SYS_getpid, "abort() on a panic"),
    (libc::SYS_tgkill, "abort() on a panic raises SIGABRT"),
    (
        libc::SYS_sigaltstack,
        "std removes its stack-overflow signal stack at exit",
    ),
    (libc::SYS_exit, "thread exit"),
    (
        libc::SYS_exit_group,
        "the tender's exit with the guest's status",
    ),
];

/// The metrics server thread's system calls (tokio's current-thread
/// runtime and axum over an already bound listener).
pub const METRICS: &[(libc::c_long, &str)] = &[
    (libc::SYS_epoll_wait, "the runtime's event loop"),
    (libc::SYS_epoll_pwait, "the runtime's event loop"),
    (libc::SYS_epoll_pwait2, "the runtime's event loop"),
    (libc::SYS_epoll_ctl, "registering accepted connections"),
    (
        libc::SYS_accept4,
        "new HTTP connections on the bound listener",
    ),
    (libc::SYS_read, "requests; the runtime's wakeup eventfd"),
    (libc::SYS_recvfrom, "requests"),
    (libc::SYS_write, "responses; the runtime's wakeup eventfd"),
    (libc::SYS_writev, "responses (headers and body)"),
    (libc::SYS_sendto, "responses"),
    (libc::SYS_close, "finished connections"),
    (libc::SYS_shutdown, "finished connections"),
    (libc::SYS_setsockopt, "TCP_NODELAY on accepted connections"),
    (libc::SYS_getsockopt, "socket errors (SO_ERROR)"),
    (libc::SYS_getsockname, "connection addresses"),
    (libc::SYS_getpeername, "connection addresses"),
    (
        libc::SYS_futex,
        "the metrics state lock shared with the vCPU thread",
    ),
    (
        libc::SYS_clock_gettime,
        "the runtime's timers (when the vDSO falls back)",
    ),
    (libc::SYS_mmap, "the allocator"),
    (libc::SYS_munmap, "the allocator"),
    (libc::SYS_mremap, "the allocator"),
    (libc::SYS_madvise, "the allocator"),
    (libc::SYS_brk, "the allocator"),
    (libc::SYS_sched_yield, "lock contention"),
    (libc::SYS_getrandom, "std's hash seeds"),
    (libc::SYS_rt_sigreturn, "return from a signal handler"),
    (libc::SYS_rt_sigprocmask, "abort() on a panic"),
    (libc::SYS_gettid, "abort() on a panic"),
    (libc::SYS_getpid, "abort() on a panic"),
    (libc::SYS_tgkill, "abort() on a panic"),
    (
        libc::SYS_sigaltstack,
        "thread exit (std's stack-overflow guard)",
    ),
    (libc::SYS_exit, "thread exit"),
    (libc::SYS_exit_group, "the process's exit"),
];

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jeq(k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    }
}

/// The BPF program of a list: x86_64 only, each listed call allowed, each
/// rule's call allowed with the argument it names, everything else kills
/// the process.
fn program(calls: &[(libc::c_long, &str)], rules: &[ArgRule]) -> Vec<libc::sock_filter> {
    let ld = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut p = vec![stmt(ld, DATA_ARCH), jeq(AUDIT_ARCH_X86_64, 1, 0)];
    p.push(stmt(ret, libc::SECCOMP_RET_KILL_PROCESS));
    p.push(stmt(ld, DATA_NR));
    // Instructions whose jump-if-true goes to the final allow.
    let mut to_allow = Vec::new();
    for (nr, _) in calls {
        to_allow.push(p.len());
        p.push(jeq(*nr as u32, 0, 0));
    }
    for r in rules {
        // [ld nr; jeq nr else next block; ld arg1; (and mask); jeq value].
        let len = if r.mask == !0 { 4 } else { 5 };
        p.push(stmt(ld, DATA_NR));
        p.push(jeq(r.nr as u32, 0, len - 2));
        p.push(stmt(ld, DATA_ARG1));
        if r.mask != !0 {
            p.push(stmt(libc::BPF_ALU | libc::BPF_AND | libc::BPF_K, r.mask));
        }
        to_allow.push(p.len());
        p.push(jeq(r.value, 0, 0));
    }
    p.push(stmt(ret, libc::SECCOMP_RET_KILL_PROCESS));
    let allow = p.len();
    p.push(stmt(ret, libc::SECCOMP_RET_ALLOW));
    for i in to_allow {
        p[i].jt = u8::try_from(allow - i - 1).expect("filter short enough for 8-bit jumps");
    }
    p
}

fn role_program(role: Role) -> Vec<libc::sock_filter> {
    match role {
        Role::Vcpu => program(VCPU, VCPU_ARGS),
        Role::Metrics => program(METRICS, METRICS_ARGS),
    }
}

/// Set `no_new_privs` and install `role`'s filter on the calling thread.
pub fn lock(role: Role) -> Result<(), String> {
    let prog = role_program(role);
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(format!("no_new_privs: {}", std::io::Error::last_os_error()));
    }
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: fprog points at `prog`, alive for the call; flags 0 (this
    // thread only). The kernel copies the program.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &fprog as *const libc::sock_fprog,
        )
    };
    if rc != 0 {
        return Err(format!("seccomp: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// A `--user` value resolved to ids.
fn resolve_user(spec: &str) -> Result<(libc::uid_t, libc::gid_t), String> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let (uid, primary) = match user.parse::<libc::uid_t>() {
        Ok(uid) => (uid, None),
        Err(_) => {
            let (uid, gid) = lookup_user(user)?;
            (uid, Some(gid))
        }
    };
    let gid = match group {
        Some(g) => g
            .parse()
            .map_err(|_| format!("--user={spec}: GID `{g}` is not a number"))?,
        None => primary.unwrap_or(uid),
    };
    if uid == 0 || gid == 0 {
        return Err(format!(
            "--user={spec}: not root (uid and gid must not be 0)"
        ));
    }
    Ok((uid, gid))
}

fn lookup_user(name: &str) -> Result<(libc::uid_t, libc::gid_t), String> {
    let c = CString::new(name).map_err(|_| format!("--user={name}: bad name"))?;
    // SAFETY: passwd is plain data (integers and pointers): all zeroes is a
    // valid value, and getpwnam_r fills it before it is read.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 4096];
    let mut out: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the call; buf's length is passed.
    let rc =
        unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut out) };
    if rc != 0 || out.is_null() {
        return Err(format!("--user={name}: no such user"));
    }
    Ok((pw.pw_uid, pw.pw_gid))
}

fn os(what: &str) -> String {
    format!("{what}: {}", std::io::Error::last_os_error())
}

/// chroot to `--chroot` and drop to `--user`, in that order (chroot needs
/// root). Called while the tender is still one thread: glibc applies set*id
/// to every thread by signalling them, which a filtered thread could not do.
pub fn confine(jail: &Jail) -> Result<(), String> {
    let ids = jail.user.as_deref().map(resolve_user).transpose()?;
    if let Some(dir) = &jail.chroot {
        let c = CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("--chroot={}: bad path", dir.display()))?;
        // SAFETY: c is a NUL-terminated path.
        if unsafe { libc::chroot(c.as_ptr()) } != 0 {
            return Err(os(&format!("--chroot={}", dir.display())));
        }
        // SAFETY: a static NUL-terminated path.
        if unsafe { libc::chdir(c"/".as_ptr()) } != 0 {
            return Err(os("chdir /"));
        }
    }
    if let Some((uid, gid)) = ids {
        // SAFETY: set*id calls with integer arguments; setgroups with an
        // empty list.
        unsafe {
            if libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(os("setgroups"));
            }
            if libc::setresgid(gid, gid, gid) != 0 {
                return Err(os(&format!("setresgid {gid}")));
            }
            if libc::setresuid(uid, uid, uid) != 0 {
                return Err(os(&format!("setresuid {uid}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run a program of the subset [`program`] emits on (nr, arch, arg1).
    fn eval(p: &[libc::sock_filter], nr: u32, arch: u32, arg1: u32) -> u32 {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = p[pc];
            let code = i.code as u32;
            if code == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS {
                a = match i.k {
                    DATA_NR => nr,
                    DATA_ARCH => arch,
                    DATA_ARG1 => arg1,
                    k => panic!("load of offset {k}"),
                };
            } else if code == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K {
                a &= i.k;
            } else if code == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K {
                pc += if a == i.k { i.jt } else { i.jf } as usize;
            } else if code == libc::BPF_RET | libc::BPF_K {
                return i.k;
            } else {
                panic!("opcode {code:#x}");
            }
            pc += 1;
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

    #[test]
    fn the_vcpu_list_allows_exactly_its_calls() {
        let p = role_program(Role::Vcpu);
        for (nr, _) in VCPU {
            assert_eq!(eval(&p, *nr as u32, AUDIT_ARCH_X86_64, 0), ALLOW, "{nr}");
        }
        for nr in [
            libc::SYS_openat,
            libc::SYS_open,
            libc::SYS_execve,
            libc::SYS_socket,
            libc::SYS_connect,
            libc::SYS_clone,
            libc::SYS_fork,
            libc::SYS_ptrace,
            libc::SYS_accept4,
            libc::SYS_seccomp,
            libc::SYS_prctl,
        ] {
            assert_eq!(eval(&p, nr as u32, AUDIT_ARCH_X86_64, 0), KILL, "{nr}");
        }
        // KVM_RUN and KVM_CREATE_VM yes, a terminal or tap request no.
        let ioctl = libc::SYS_ioctl as u32;
        assert_eq!(eval(&p, ioctl, AUDIT_ARCH_X86_64, 0xAE80), ALLOW);
        assert_eq!(eval(&p, ioctl, AUDIT_ARCH_X86_64, 0xAE01), ALLOW);
        assert_eq!(eval(&p, ioctl, AUDIT_ARCH_X86_64, 0x5401), KILL);
        assert_eq!(eval(&p, ioctl, AUDIT_ARCH_X86_64, 0x400454ca), KILL);
        let fcntl = libc::SYS_fcntl as u32;
        assert_eq!(eval(&p, fcntl, AUDIT_ARCH_X86_64, F_GETFD), ALLOW);
        assert_eq!(
            eval(&p, fcntl, AUDIT_ARCH_X86_64, libc::F_DUPFD as u32),
            KILL
        );
        // Another architecture's numbering (i386 read is 3): killed.
        assert_eq!(eval(&p, 3, 0x4000_0003, 0), KILL);
        assert_eq!(eval(&p, libc::SYS_read as u32, 0x4000_0003, 0), KILL);
    }

    #[test]
    fn the_metrics_list_serves_http_but_opens_nothing() {
        let p = role_program(Role::Metrics);
        let arch = AUDIT_ARCH_X86_64;
        assert_eq!(eval(&p, libc::SYS_accept4 as u32, arch, 0), ALLOW);
        assert_eq!(eval(&p, libc::SYS_epoll_wait as u32, arch, 0), ALLOW);
        assert_eq!(eval(&p, libc::SYS_ioctl as u32, arch, FIONBIO), ALLOW);
        assert_eq!(eval(&p, libc::SYS_ioctl as u32, arch, 0xAE80), KILL);
        let fcntl = libc::SYS_fcntl as u32;
        assert_eq!(eval(&p, fcntl, arch, libc::F_SETFL as u32), ALLOW);
        assert_eq!(eval(&p, fcntl, arch, F_GETFD), ALLOW);
        assert_eq!(eval(&p, fcntl, arch, libc::F_SETOWN as u32), KILL);
        for nr in [
            libc::SYS_openat,
            libc::SYS_socket,
            libc::SYS_execve,
            libc::SYS_pwrite64,
        ] {
            assert_eq!(eval(&p, nr as u32, arch, 0), KILL, "{nr}");
        }
    }

    #[test]
    fn users_resolve_to_unprivileged_ids() {
        assert_eq!(resolve_user("1000"), Ok((1000, 1000)));
        assert_eq!(resolve_user("1000:2000"), Ok((1000, 2000)));
        assert!(resolve_user("0").is_err());
        assert!(resolve_user("1000:0").is_err());
        assert!(resolve_user("1000:x").is_err());
        assert!(resolve_user("no-such-user-gitns").is_err());
        if let Ok((uid, _)) = resolve_user("nobody") {
            assert_ne!(uid, 0);
        }
    }
}
