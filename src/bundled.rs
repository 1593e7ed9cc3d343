//! Files shipped with the repository (`models/`, `samples/`, the quick start's `.venv`),
//! found from any working directory: `target/release/safecross` run from elsewhere
//! still finds them beside the repository it was built in. Imports: std only.

use std::path::{Path, PathBuf};

/// The folders above the executable `exe` where its repository may lie: its own folder
/// and three more (`target/release/safecross` lies three below the repository).
pub fn folders_above(exe: &Path) -> impl Iterator<Item = &Path> {
    exe.ancestors().skip(1).take(4)
}

/// `relative` as given when it exists from the working directory, else found beside the
/// repository the executable was built in. Returned unchanged when found nowhere, so the
/// caller's error names the path asked for.
pub fn bundled_file(relative: &Path) -> PathBuf {
    if relative.exists() || relative.is_absolute() {
        return relative.to_path_buf();
    }
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| folders_above(&exe).map(|dir| dir.join(relative)).find(|p| p.exists()));
    beside_exe.unwrap_or_else(|| relative.to_path_buf())
}
