//! Guest memory and the one bounds-checked accessor every host access to it
//! goes through.

use std::io;

/// Why a guest address was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfBounds {
    pub gpa: u64,
    pub len: u64,
}

impl std::fmt::Display for OutOfBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "guest address range {:#x}+{:#x} is outside guest memory",
            self.gpa, self.len
        )
    }
}

/// Plain-data types that may be copied to and from guest memory.
///
/// # Safety
/// Implementors are `repr(C)`, `Copy`, and every bit pattern is a valid value.
pub unsafe trait Pod: Copy {}

// SAFETY: repr(C) struct of integers only.
unsafe impl Pod for gitns_abi::BootInfo {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::Walltime {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::Puts {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::Poll {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::BlockWrite {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::BlockRead {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::NetWrite {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::NetRead {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::Halt {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::NetExchange {}
// SAFETY: as above, integers only.
unsafe impl Pod for gitns_abi::hypercall::IoVec {}
// SAFETY: as above, integers only (explicit padding field, no holes).
unsafe impl Pod for gitns_abi::hypercall::MetricsReport {}
// SAFETY: integers.
unsafe impl Pod for u64 {}

/// Anonymous host memory backing the guest's physical memory [0, len).
pub struct GuestMem {
    ptr: *mut u8,
    len: usize,
}

impl GuestMem {
    /// Map `len` bytes of zeroed memory.
    pub fn new(len: usize) -> io::Result<GuestMem> {
        // SAFETY: anonymous private mapping, no address hint; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(GuestMem {
            ptr: ptr.cast(),
            len,
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> u64 {
        self.len as u64
    }

    /// True for a mapping of no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Host address of guest address 0 (for KVM_SET_USER_MEMORY_REGION).
    pub fn host_addr(&self) -> u64 {
        self.ptr as u64
    }

    fn check(&self, gpa: u64, len: u64) -> Result<usize, OutOfBounds> {
        match gpa.checked_add(len) {
            Some(end) if end <= self.len as u64 => Ok(gpa as usize),
            _ => Err(OutOfBounds { gpa, len }),
        }
    }

    /// Set the host protection of the page-aligned range [gpa, gpa + len):
    /// a guest access the protection forbids stops the VM (KVM_RUN fails
    /// with EFAULT), as solo5-hvt does for read-only and non-writable segments.
    pub fn protect(&mut self, gpa: u64, len: u64, write: bool, exec: bool) -> Result<(), String> {
        let start = self.check(gpa, len).map_err(|e| e.to_string())?;
        let prot = libc::PROT_READ
            | if write { libc::PROT_WRITE } else { 0 }
            | if exec { libc::PROT_EXEC } else { 0 };
        // SAFETY: the range is inside our mapping (checked) and page aligned
        // (segments are validated to be); only protections change.
        if unsafe { libc::mprotect(self.ptr.add(start).cast(), len as usize, prot) } != 0 {
            return Err(format!("mprotect: {}", io::Error::last_os_error()));
        }
        Ok(())
    }

    /// The bytes [gpa, gpa + len).
    pub fn slice(&self, gpa: u64, len: u64) -> Result<&[u8], OutOfBounds> {
        let start = self.check(gpa, len)?;
        // SAFETY: [start, start + len) is inside the mapping (checked); the
        // vCPU is stopped while the host looks at guest memory.
        Ok(unsafe { std::slice::from_raw_parts(self.ptr.add(start), len as usize) })
    }

    /// The bytes [gpa, gpa + len), writable.
    pub fn slice_mut(&mut self, gpa: u64, len: u64) -> Result<&mut [u8], OutOfBounds> {
        let start = self.check(gpa, len)?;
        // SAFETY: as `slice`, and `&mut self` makes the borrow exclusive.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len as usize) })
    }

    /// Copy a `T` out of guest memory (any alignment).
    pub fn read<T: Pod>(&self, gpa: u64) -> Result<T, OutOfBounds> {
        let b = self.slice(gpa, std::mem::size_of::<T>() as u64)?;
        // SAFETY: b holds size_of::<T>() bytes and T accepts any bit pattern.
        Ok(unsafe { std::ptr::read_unaligned(b.as_ptr().cast::<T>()) })
    }

    /// Copy a `T` into guest memory (any alignment).
    pub fn write<T: Pod>(&mut self, gpa: u64, v: &T) -> Result<(), OutOfBounds> {
        let b = self.slice_mut(gpa, std::mem::size_of::<T>() as u64)?;
        // SAFETY: b holds size_of::<T>() writable bytes.
        unsafe { std::ptr::write_unaligned(b.as_mut_ptr().cast::<T>(), *v) };
        Ok(())
    }
}

impl Drop for GuestMem {
    fn drop(&mut self) {
        // SAFETY: ptr/len are the mapping made in `new`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_are_bounds_checked() {
        let mut m = GuestMem::new(8192).unwrap();
        m.write(8184, &0x1122_3344_5566_7788u64).unwrap();
        assert_eq!(m.read::<u64>(8184).unwrap(), 0x1122_3344_5566_7788);
        assert!(m.read::<u64>(8185).is_err());
        assert!(m.slice(u64::MAX - 2, 4).is_err());
        assert!(m.slice(8192, 0).is_ok());
        assert!(m.slice(8192, 1).is_err());
        assert!(m.slice_mut(0, 8193).is_err());
        assert_eq!(m.slice(3, 5).unwrap(), &[0; 5]);
    }
}
