//! The fuzz input read as a stream of numbers; `None` once it runs out.
//! Shared by the targets that build their cases byte by byte.

pub struct Source<'a>(pub &'a [u8]);

#[allow(dead_code)] // not every target reads every width
impl Source<'_> {
    pub fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    pub fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) | u32::from(self.u16()?) << 16)
    }
}
