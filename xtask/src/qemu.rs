//! Booting the image under QEMU (PVH entry, virtio-net, COM1 console,
//! isa-debug-exit), shared by `cargo xtask run --qemu`, the tests and the
//! boot benchmark.
//!
//! Machine: q35. The guest drives virtio-net over PCI with the BARs the
//! firmware (SeaBIOS) assigned and reads PCI configuration through ports
//! 0xcf8/0xcfc; microvm offers virtio only over MMIO (or PCIe without
//! firmware BAR assignment), see docs/design.md.

use std::path::Path;
use std::process::Command;

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// How QEMU runs the vCPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

/// KVM when /dev/kvm works for QEMU, else TCG; with the reason, for the user.
/// PVM hosts (kvm_pvm) are KVM QEMU cannot use: its guests' SSE
/// instructions end in "KVM internal error" (seen here), so TCG.
pub fn choose(force_tcg: bool) -> (Accel, &'static str) {
    if force_tcg {
        return (Accel::Tcg, "TCG (--tcg)");
    }
    if !crate::util::have_kvm() {
        return (Accel::Tcg, "TCG: /dev/kvm is not usable here");
    }
    if Path::new("/sys/module/kvm_pvm").exists() {
        return (
            Accel::Tcg,
            "TCG: /dev/kvm here is PVM, which QEMU cannot drive (gitns-hvt can)",
        );
    }
    (Accel::Kvm, "KVM")
}

/// What to boot and how.
pub struct Vm<'a> {
    pub image: &'a Path,
    pub accel: Accel,
    /// Tap device for the virtio-net device, if any.
    pub tap: Option<&'a str>,
    pub mem_mib: u32,
    /// File of the virtio-blk device the guest takes as `storage`.
    pub storage: Option<&'a Path>,
    /// The image's command line.
    pub args: &'a [String],
}

/// The qemu-system-x86_64 command line for `vm`. Serial (COM1) is QEMU's
/// standard output; stdin is left to the caller.
pub fn command(vm: &Vm) -> Command {
    let mut c = Command::new(QEMU);
    c.args(["-M", "q35", "-nodefaults", "-no-user-config", "-nographic"])
        .args(["-serial", "stdio", "-no-reboot", "-smp", "1"])
        .args(["-m", &vm.mem_mib.to_string()]);
    match vm.accel {
        Accel::Kvm => c.args(["-accel", "kvm", "-cpu", "host"]),
        // `max` has RDRAND, which the guest's RNG insists on.
        Accel::Tcg => c.args(["-accel", "tcg", "-cpu", "max"]),
    };
    c.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    if let Some(tap) = vm.tap {
        c.args([
            "-netdev",
            &format!("tap,id=service,ifname={tap},script=no,downscript=no"),
            "-device",
            // No option ROM: iPXE would add seconds of boot under TCG.
            "virtio-net-pci,netdev=service,disable-legacy=on,romfile=",
        ]);
    }
    if let Some(file) = vm.storage {
        let mut drive = std::ffi::OsString::from("file=");
        drive.push(file);
        drive.push(",if=none,id=storage,format=raw");
        c.arg("-drive")
            .arg(drive)
            .args(["-device", "virtio-blk-pci,drive=storage,disable-legacy=on"]);
    }
    c.arg("-kernel").arg(vm.image);
    c.args(["-append", &vm.args.join(" ")]);
    c
}

/// The guest's exit status from QEMU's exit code: 0 is a clean ACPI
/// poweroff (status 0); an odd code is isa-debug-exit's `(status << 1) | 1`,
/// so status = code >> 1 (statuses 128-255 lose their high bit: 255 -> 127).
/// Other codes are QEMU's own failures.
pub fn guest_status(code: i32) -> Option<i32> {
    match code {
        0 => Some(0),
        c if c & 1 == 1 => Some(c >> 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_back_to_statuses() {
        assert_eq!(guest_status(0), Some(0));
        assert_eq!(guest_status(3), Some(1));
        assert_eq!(guest_status((64 << 1) | 1), Some(64));
        assert_eq!(guest_status((69 << 1) | 1), Some(69));
        assert_eq!(guest_status(((255 << 1) | 1) & 0xff), Some(127));
        assert_eq!(guest_status(2), None);
    }
}
