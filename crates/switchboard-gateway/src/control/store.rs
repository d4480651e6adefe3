//! The embedded store of the control plane: `control-plane.json` in `controlPlane.dataDir`,
//! replaced atomically (written beside, synced, renamed) so a crash leaves the old or the new.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use switchboard_control::ControlState;

/// The store's file name inside the data directory.
pub const FILE_NAME: &str = "control-plane.json";

/// The store file of a data directory.
pub fn path(data_dir: &str) -> PathBuf {
    Path::new(data_dir).join(FILE_NAME)
}

/// Reads the stored state; a missing file is an empty state.
pub fn load(path: &Path) -> Result<ControlState, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a control plane store: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ControlState::default()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Writes `state` atomically, creating the directory when needed.
pub fn save(path: &Path, state: &ControlState) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(state).map_err(std::io::Error::other)?;
    let temporary = path.with_extension("json.tmp");
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)
}
