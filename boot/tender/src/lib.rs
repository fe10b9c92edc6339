//! gitns-hvt's parts: the binary (main.rs) wires them; the unix platform
//! shares the host tap devices; the fuzz targets drive the hypercall
//! dispatcher and the ELF loader.
pub mod cli;
pub mod devices;
pub mod elf;
pub mod fault;
pub mod guestmem;
#[doc(hidden)]
pub mod harness;
pub mod hypercall;
pub mod metrics;
pub mod pvm;
pub mod sandbox;
pub mod tap;
pub mod vm;
pub mod x86;
