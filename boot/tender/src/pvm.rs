//! PVM (paravirtualised KVM, `kvm_pvm`): detection and the setup that lets
//! the guest run natively (DESIGN.md "KVM on this machine: PVM").

use gitns_abi::PVM_VIF_PAGE;
use kvm_bindings::{kvm_msr_entry, Msrs};
use kvm_ioctls::VcpuFd;

/// The MSR registering the PVM virtual-interrupt-flag page.
const MSR_PVM_VIF: u32 = 0x4b56_4d10;
/// Enable bit of that MSR's value.
const VIF_ENABLE: u64 = 0x400;

/// True when /dev/kvm is provided by kvm_pvm.
pub fn detect() -> bool {
    std::path::Path::new("/sys/module/kvm_pvm").exists()
}

/// Register the virtual-interrupt-flag page at [`PVM_VIF_PAGE`].
pub fn setup(vcpu: &VcpuFd) -> Result<(), String> {
    let msrs = Msrs::from_entries(&[kvm_msr_entry {
        index: MSR_PVM_VIF,
        data: PVM_VIF_PAGE | VIF_ENABLE,
        ..Default::default()
    }])
    .map_err(|e| format!("PVM: building MSR list: {e:?}"))?;
    match vcpu.set_msrs(&msrs) {
        Ok(1) => Ok(()),
        Ok(n) => Err(format!(
            "PVM: KVM_SET_MSRS set {n} of 1 MSRs (0x{MSR_PVM_VIF:x})"
        )),
        Err(e) => Err(format!("PVM: KVM_SET_MSRS: {e}")),
    }
}
