//! Vocabulary types shared by every Salus crate: ids, dataset schemas and column roles, study specifications, protection modes and privacy records.
