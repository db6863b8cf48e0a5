//! Mnemosyne's cloud tier as a library: the learned detectors (training, inference, evaluation)
//! that the `cloud-analyzer` binary exposes as commands.

#![forbid(unsafe_code)]

pub mod config;
pub mod learn;
pub mod memory;
pub mod server;
pub mod state;
