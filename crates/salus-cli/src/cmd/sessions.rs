//! Which protection protocol implementations the services use.

use salus_protect::{HubSessionFactory as SessionFactory, NodeSessionFactory};

/// The hub's session factory.
pub fn hub_sessions() -> SessionFactory {
    salus_protect::plain::factories().0
}

/// The node's session factory.
pub fn node_sessions() -> NodeSessionFactory {
    salus_protect::plain::factories().1
}
