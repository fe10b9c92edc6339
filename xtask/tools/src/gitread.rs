//! Reading git repositories with gix, independently of gitns's own git
//! code: the zone files of a revision (for `check`) and the facts of a
//! commit (for tests that verify what the appliance pushed).

/// The root-level regular files of `rev`'s tree (subdirectories and
/// symlinks are not zones; dot-files are skipped), sorted by name.
pub fn files_at(repo: &gix::Repository, rev: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let tree = commit(repo, rev)?.tree().map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for entry in tree.iter() {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.filename().to_string();
        if !entry.mode().is_blob() || name.starts_with('.') {
            continue;
        }
        let data = repo
            .find_object(entry.oid())
            .map_err(|e| e.to_string())?
            .detach()
            .data;
        files.push((name, data));
    }
    files.sort();
    Ok(files)
}

fn commit<'r>(repo: &'r gix::Repository, rev: &str) -> Result<gix::Commit<'r>, String> {
    repo.rev_parse_single(rev)
        .map_err(|e| format!("{rev}: {e}"))?
        .object()
        .map_err(|e| e.to_string())?
        .peel_to_commit()
        .map_err(|e| format!("{rev}: {e}"))
}

/// What a commit says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub id: String,
    pub author_name: String,
    pub author_email: String,
    pub message: String,
    pub parents: Vec<String>,
}

/// The commit at `rev` in the repository at `path`.
pub fn commit_info(path: &std::path::Path, rev: &str) -> Result<CommitInfo, String> {
    let repo = gix::open(path).map_err(|e| e.to_string())?;
    let c = commit(&repo, rev)?;
    let author = c.author().map_err(|e| e.to_string())?;
    Ok(CommitInfo {
        id: c.id().to_string(),
        author_name: author.name.to_string(),
        author_email: author.email.to_string(),
        message: c.message_raw_sloppy().to_string(),
        parents: c.parent_ids().map(|p| p.to_string()).collect(),
    })
}

/// A root-level file of `rev` in the repository at `path`.
pub fn file_at(path: &std::path::Path, rev: &str, name: &str) -> Result<Option<Vec<u8>>, String> {
    let repo = gix::open(path).map_err(|e| e.to_string())?;
    Ok(files_at(&repo, rev)?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, d)| d))
}
