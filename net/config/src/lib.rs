//! gitns-config: the command line of the appliance.
//!
//! Compatible with the MirageOS dns-primary-git unikernel: `--key=value` or
//! `--key value`, `-l LEVEL`. Options of later features are added here as
//! those features land; an option the image does not know is an error, never
//! silently ignored. Pure: the image parses its boot command line with it,
//! and the host tool `gitns run` checks image arguments with the same code
//! before it boots anything.
//!
//! Files: [`types`] what the command line sets, [`help`] the options table
//! and the help text, [`parse`] the command line, [`value`] one option's
//! value, [`error`] what can be wrong.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod error;
pub mod help;
pub mod parse;
pub mod types;
pub mod value;

pub use error::ConfigError;
pub use gitns_git::remote::Remote;
pub use help::HELP;
pub use parse::parse;
pub use types::{
    AcmeConfig, Config, SecondaryConfig, SshKey, TcpOptions, LE_PRODUCTION, LE_STAGING,
};
pub use value::needs_resolver;
