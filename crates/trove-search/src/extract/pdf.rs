//! PDF text via `pdf-extract`, isolated: it runs on its own thread with a
//! large stack, its panics are caught, and it gets a time budget. A PDF that
//! exceeds the budget is reported as [`ExtractError::Timeout`]; its thread is
//! left to finish in the background (Rust cannot kill a thread), which bounds
//! the caller's wait but not the CPU the thread still uses.

use std::sync::mpsc;
use std::time::Duration;

use crate::error::ExtractError;

/// Time budget for one PDF.
pub const PDF_TIME_BUDGET: Duration = Duration::from_secs(20);
const STACK_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn extract(bytes: &[u8]) -> Result<String, ExtractError> {
    let data = bytes.to_vec();
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("trove-pdf-extract".into())
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let r = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem(&data));
            let _ = tx.send(r);
        })
        .map_err(|e| ExtractError::Malformed {
            format: "pdf",
            reason: format!("could not start the extractor thread: {e}"),
        })?;
    match rx.recv_timeout(PDF_TIME_BUDGET) {
        Ok(Ok(Ok(text))) => Ok(text),
        Ok(Ok(Err(e))) => Err(ExtractError::Malformed {
            format: "pdf",
            reason: e.to_string(),
        }),
        Ok(Err(panic)) => Err(ExtractError::Panicked {
            format: "pdf",
            reason: panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default(),
        }),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(ExtractError::Timeout {
            format: "pdf",
            seconds: PDF_TIME_BUDGET.as_secs(),
        }),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(ExtractError::Panicked {
            format: "pdf",
            reason: "extractor thread ended without an answer".into(),
        }),
    }
}
