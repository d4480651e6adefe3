//! How much work one render may do: evaluation steps, output bytes and wall time. The
//! evaluator spends steps as it goes and reads the clock every [`CLOCK_EVERY`] steps, so a
//! render stops close to its deadline even when each step is heavy.

use std::time::Duration;

/// Default most steps per render (docs/configuration.md `maxTemplateSteps`). The corpus's
/// largest template takes about 200; a `#foreach` over 1,000 body items printing two fields
/// of each about 11,000. A release build runs 2–4 million steps a second on one core, so this
/// is at most about 100 ms of work.
pub const DEFAULT_MAX_STEPS: u64 = 200_000;
/// Default largest rendered output (docs/configuration.md `maxTemplateOutputBytes`).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// Default wall-time limit of one render (docs/configuration.md `templateTimeoutMillis`).
pub const DEFAULT_MAX_TIME: Duration = Duration::from_millis(100);
/// Text handled per step: building or scanning this many bytes spends one step beyond the
/// step of the construct itself, so long strings count as the work they are.
pub const BYTES_PER_STEP: usize = 1024;
/// Steps between two readings of the clock (a reading costs about as much as a few steps).
pub(crate) const CLOCK_EVERY: u64 = 256;
/// Steps a regular expression's compilation spends (it can cost as much as scanning
/// hundreds of kilobytes).
pub(crate) const REGEX_COMPILE_STEPS: u64 = 64;

/// The work one render may do. Every limit is checked inside the evaluator: past one the
/// render fails at the construct that crossed it (and never panics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderBudget {
    /// Most evaluation steps: one per node, expression, accessor, loop iteration and JSON
    /// value, plus one per [`BYTES_PER_STEP`] bytes of text built or scanned.
    pub max_steps: u64,
    /// Largest rendered output in bytes.
    pub max_output_bytes: usize,
    /// Longest a render may run; `None`: no clock is read at all.
    pub max_time: Option<Duration>,
}

impl Default for RenderBudget {
    /// The defaults of docs/configuration.md: safe for a gateway exposed to untrusted bodies.
    fn default() -> Self {
        Self {
            max_steps: DEFAULT_MAX_STEPS,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            max_time: Some(DEFAULT_MAX_TIME),
        }
    }
}

impl RenderBudget {
    /// Steps spent on `bytes` of text: one per whole [`BYTES_PER_STEP`] bytes, so short
    /// strings cost nothing beyond the step of the construct that makes them.
    pub(crate) fn text_steps(bytes: usize) -> u64 {
        u64::try_from(bytes / BYTES_PER_STEP).unwrap_or(u64::MAX)
    }
}
