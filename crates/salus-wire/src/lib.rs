//! The versioned wire protocol between hub and node: the only serialized boundary between the services.
