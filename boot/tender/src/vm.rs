//! The VM: guest memory, one vCPU set up per the ABI, and the run loop.

use crate::devices::Devices;
use crate::elf::Image;
use crate::guestmem::GuestMem;
use crate::hypercall::{self, Counters, Next};
use crate::{pvm, x86};
use gitns_abi::{BootInfo, BOOT_INFO_BASE, CMDLINE_SIZE, MFT_BASE};
use kvm_bindings::{kvm_userspace_memory_region, KVM_MAX_CPUID_ENTRIES};
use kvm_ioctls::{Kvm, VcpuExit, VcpuFd, VmFd};

/// A configured VM ready to run.
pub struct Vm {
    _vm: VmFd,
    vcpu: VcpuFd,
    pub mem: GuestMem,
    pub pvm: bool,
}

/// Open /dev/kvm (once: restarts make their VMs from the same fd, after
/// the sandbox closed the filesystem).
pub fn kvm_open() -> Result<Kvm, String> {
    Kvm::new().map_err(|e| match e.errno() {
        libc::ENOENT => "/dev/kvm does not exist: KVM is not available on this host".to_string(),
        libc::EACCES | libc::EPERM => {
            "/dev/kvm: permission denied (are you in the kvm group?)".to_string()
        }
        _ => format!("/dev/kvm: {e}"),
    })
}

/// Guest memory size: `mib` rounded up to 2 MiB pages, at most 4 GiB.
pub fn mem_size(mib: u64) -> Result<u64, String> {
    let bytes = mib.checked_mul(1 << 20).ok_or("--mem is too large")?;
    let size = bytes.div_ceil(x86::PAGE_2M) * x86::PAGE_2M;
    if size > x86::MAX_MEM {
        return Err(format!("--mem={mib}: at most {} MiB", x86::MAX_MEM >> 20));
    }
    Ok(size)
}

impl Vm {
    /// Create the VM and load `image` (already validated for `mem_size`);
    /// `pvm`: apply the PVM setup (see [`pvm::detect`]).
    pub fn new(
        kvm: &Kvm,
        pvm: bool,
        mem_size: u64,
        image: &Image,
        file: &[u8],
    ) -> Result<Vm, String> {
        let vm = kvm
            .create_vm()
            .map_err(|e| format!("KVM: create VM: {e}"))?;
        let mut mem = GuestMem::new(mem_size as usize)
            .map_err(|e| format!("cannot allocate {mem_size} bytes of guest memory: {e}"))?;
        let region = kvm_userspace_memory_region {
            slot: 0,
            flags: 0,
            guest_phys_addr: 0,
            memory_size: mem_size,
            userspace_addr: mem.host_addr(),
        };
        // SAFETY: the region is our live mapping of mem_size bytes, which
        // outlives the VM (both are dropped together in Vm).
        unsafe { vm.set_user_memory_region(region) }
            .map_err(|e| format!("KVM: set memory region: {e}"))?;
        for s in &image.segments {
            let src = &file[s.offset as usize..(s.offset + s.filesz) as usize];
            mem.slice_mut(s.vaddr, s.filesz)
                .map_err(|e| e.to_string())?
                .copy_from_slice(src);
            mem.slice_mut(s.vaddr + s.filesz, s.memsz - s.filesz)
                .map_err(|e| e.to_string())?
                .fill(0);
        }
        for s in &image.segments {
            mem.protect(s.start, s.end - s.start, s.writable, s.executable)?;
        }
        x86::setup_gdt(&mut mem).map_err(|e| e.to_string())?;
        x86::setup_page_tables(&mut mem, pvm).map_err(|e| e.to_string())?;
        let vcpu = vm
            .create_vcpu(0)
            .map_err(|e| format!("KVM: create vCPU: {e}"))?;
        let cpuid = kvm
            .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
            .map_err(|e| format!("KVM: get CPUID: {e}"))?;
        vcpu.set_cpuid2(&cpuid)
            .map_err(|e| format!("KVM: set CPUID: {e}"))?;
        let sregs = vcpu
            .get_sregs()
            .map_err(|e| format!("KVM: get sregs: {e}"))?;
        vcpu.set_sregs(&x86::sregs(sregs))
            .map_err(|e| format!("KVM: set sregs: {e}"))?;
        vcpu.set_regs(&x86::regs(image.entry, mem_size))
            .map_err(|e| format!("KVM: set regs: {e}"))?;
        if pvm {
            pvm::setup(&vcpu)?;
        }
        Ok(Vm {
            _vm: vm,
            vcpu,
            mem,
            pvm,
        })
    }

    /// TSC frequency in Hz as KVM reports it.
    pub fn tsc_hz(&self) -> Result<u64, String> {
        self.vcpu
            .get_tsc_khz()
            .map(|k| k as u64 * 1000)
            .map_err(|e| format!("KVM: get TSC frequency: {e}"))
    }

    /// Write boot info, manifest copy and command line.
    pub fn write_boot_info(
        &mut self,
        kernel_end: u64,
        manifest: &[u8],
        cmdline: &[u8],
        host_features: u32,
    ) -> Result<(), String> {
        debug_assert!(cmdline.len() <= CMDLINE_SIZE);
        let cmdline_gpa = (MFT_BASE + manifest.len() as u64).div_ceil(8) * 8;
        let bi = BootInfo {
            mem_size: self.mem.len(),
            kernel_end,
            cpu_cycle_freq: self.tsc_hz()?,
            cmdline: cmdline_gpa,
            mft: MFT_BASE,
            host_features,
            guest_features: 0,
            net_ring: 0,
        };
        let e = |e: crate::guestmem::OutOfBounds| e.to_string();
        self.mem.write(BOOT_INFO_BASE, &bi).map_err(e)?;
        self.mem
            .slice_mut(MFT_BASE, manifest.len() as u64)
            .map_err(e)?
            .copy_from_slice(manifest);
        self.mem
            .slice_mut(cmdline_gpa, cmdline.len() as u64)
            .map_err(e)?
            .copy_from_slice(cmdline);
        Ok(())
    }

    /// Run until the guest halts; returns its exit status.
    pub fn run(
        &mut self,
        devs: &mut Devices,
        counters: &mut Counters,
        metrics: Option<&crate::metrics::Shared>,
    ) -> Result<i32, String> {
        // (all, interrupted): KVM_RUN returns that resume the loop are
        // port I/O (hypercalls) or a signal; every other exit ends the VM.
        let mut exits = (0u64, 0u64);
        let mut published = std::time::Instant::now();
        loop {
            exits.0 += 1;
            // Publish at most every 200 ms, and at once when the guest just
            // handed in a report (before a poll that may sleep).
            let fresh = counters.guest_metrics.is_some();
            if let Some(m) = metrics.filter(|_| fresh || published.elapsed().as_millis() >= 200) {
                published = std::time::Instant::now();
                publish(m, counters, exits);
            }
            let exit = match self.vcpu.run() {
                Ok(exit) => exit,
                Err(e) if e.errno() == libc::EINTR || e.errno() == libc::EAGAIN => {
                    exits.1 += 1;
                    continue;
                }
                Err(e) if e.errno() == libc::EFAULT => {
                    return Err(format!("host/guest translation fault{}", self.regs_text()))
                }
                Err(e) => return Err(format!("KVM: run: {e}")),
            };
            match exit {
                VcpuExit::IoOut(port, data) => {
                    let mut b = [0u8; 4];
                    let n = data.len().min(4);
                    b[..n].copy_from_slice(&data[..n]);
                    let gpa = u32::from_le_bytes(b) as u64;
                    match hypercall::dispatch(port, gpa, &mut self.mem, devs, counters)? {
                        Next::Resume => {}
                        Next::Halt(status) => return Ok(status),
                    }
                }
                VcpuExit::Hlt => return Err("guest executed HLT without the HALT hypercall".into()),
                VcpuExit::Shutdown => {
                    return Err(format!(
                        "guest triple fault (KVM_EXIT_SHUTDOWN){}",
                        self.regs_text()
                    ))
                }
                VcpuExit::InternalError => {
                    return Err(format!(
                        "KVM internal error (emulation failure?){}",
                        self.regs_text()
                    ))
                }
                VcpuExit::FailEntry(reason, cpu) => {
                    return Err(format!("KVM entry failed: reason {reason:#x} on cpu {cpu}"))
                }
                other => {
                    let what = format!("{other:?}");
                    return Err(format!("Unexpected vm exit: {what}{}", self.regs_text()));
                }
            }
        }
    }

    fn regs_text(&self) -> String {
        match self.vcpu.get_regs() {
            Ok(r) => format!(
                ": rip={:#x} rsp={:#x} rflags={:#x} rax={:#x} rdi={:#x}",
                r.rip, r.rsp, r.rflags, r.rax, r.rdi
            ),
            Err(_) => String::new(),
        }
    }
}

/// Copy the counters where the metrics endpoint reads them.
fn publish(m: &crate::metrics::Shared, c: &mut Counters, exits: (u64, u64)) {
    if let Ok(mut s) = m.lock() {
        s.calls = c.calls.to_vec();
        s.frames_in = c.frames_in;
        s.frames_out = c.frames_out;
        s.bytes_in = c.bytes_in;
        s.bytes_out = c.bytes_out;
        s.exits = exits.0 - exits.1;
        s.exits_interrupted = exits.1;
        if let Some(g) = c.guest_metrics.take() {
            s.guest = g;
        }
    }
}
