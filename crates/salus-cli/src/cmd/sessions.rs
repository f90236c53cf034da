//! Which protection protocol implementations the services use: the product
//! protocols (secure aggregation and threshold HE) from `salus-protect`.

use salus_protect::{HubSessionFactory as SessionFactory, NodeSessionFactory};

/// The hub's session factory.
pub fn hub_sessions() -> SessionFactory {
    salus_protect::product_factories().0
}

/// The node's session factory.
pub fn node_sessions() -> NodeSessionFactory {
    salus_protect::product_factories().1
}
