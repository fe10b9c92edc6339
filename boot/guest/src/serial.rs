//! The console under QEMU: the 16550 UART at COM1 (port 0x3f8), polled.

use crate::port::{inb, outb};

const COM1: u16 = 0x3f8;
/// Line status register: transmit holding register empty.
const LSR_THRE: u8 = 0x20;

/// 115200 8N1, FIFOs on, no interrupts.
pub(crate) fn init() {
    outb(COM1 + 1, 0x00); // IER: no interrupts
    outb(COM1 + 3, 0x80); // LCR: DLAB to set the divisor
    outb(COM1, 0x01); // divisor 1 = 115200 baud
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03); // 8N1, DLAB off
    outb(COM1 + 2, 0xc7); // FIFO on, cleared, 14-byte threshold
    outb(COM1 + 4, 0x03); // DTR | RTS
}

fn put(b: u8) {
    // Bounded wait: a UART that never drains must not hang the guest.
    for _ in 0..100_000 {
        if inb(COM1 + 5) & LSR_THRE != 0 {
            break;
        }
        core::hint::spin_loop();
    }
    outb(COM1, b);
}

/// Write bytes, turning "\n" into "\r\n" as a serial console expects
/// (QEMU -nographic puts the terminal in raw mode).
pub fn write(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            put(b'\r');
        }
        put(b);
    }
}
