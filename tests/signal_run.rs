#![cfg(all(unix, feature = "signal"))]
