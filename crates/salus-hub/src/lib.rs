//! The hub service: HTTPS API, certificate authority, study coordination, database persistence.
