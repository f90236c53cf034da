//! Which protection protocol implementations the services use.

use salus_hub::coordinator::SessionFactory;
use salus_node::aggregation::NodeSessionFactory;

/// The hub's session factory.
pub fn hub_sessions() -> SessionFactory {
    salus_hub::server::plain_sessions()
}

/// The node's session factory.
pub fn node_sessions() -> NodeSessionFactory {
    salus_node::aggregation::plain_sessions()
}
