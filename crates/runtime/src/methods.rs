//! The methods a server serves, read once from its descriptor sets: which paths get labels of
//! their own in the metrics, which take a client stream (bounded by an idle timeout between
//! messages instead of the whole-call request timeout), and which answer with a stream (held
//! open, so counted against the open-stream limits).

use std::{collections::HashSet, sync::Arc};

use prost::Message as _;

/// Every `/package.Service/Method` path a server knows, and its client- and server-streaming
/// subsets.
#[derive(Debug, Clone, Default)]
pub struct MethodTable {
    known: Arc<HashSet<String>>,
    /// `/package.Service/` of every service, to tell gRPC paths from other routes.
    services: Arc<HashSet<String>>,
    client_streaming: Arc<HashSet<String>>,
    server_streaming: Arc<HashSet<String>>,
}

impl MethodTable {
    /// Reads the methods declared in encoded `FileDescriptorSet`s; a set that does not
    /// decode is logged and skipped, so its methods count as unknown.
    pub fn from_descriptor_sets(descriptor_sets: &[&[u8]]) -> Self {
        let mut known = HashSet::new();
        let mut services = HashSet::new();
        let mut client_streaming = HashSet::new();
        let mut server_streaming = HashSet::new();
        for encoded in descriptor_sets {
            let Ok(set) = prost_types::FileDescriptorSet::decode(*encoded) else {
                tracing::warn!(
                    "a descriptor set does not decode; its methods are counted as unknown"
                );
                continue;
            };
            for file in &set.file {
                for service in &file.service {
                    services.insert(format!("/{}.{}/", file.package(), service.name()));
                    for method in &service.method {
                        let path =
                            format!("/{}.{}/{}", file.package(), service.name(), method.name());
                        if method.client_streaming() {
                            client_streaming.insert(path.clone());
                        }
                        if method.server_streaming() {
                            server_streaming.insert(path.clone());
                        }
                        known.insert(path);
                    }
                }
            }
        }
        Self {
            known: Arc::new(known),
            services: Arc::new(services),
            client_streaming: Arc::new(client_streaming),
            server_streaming: Arc::new(server_streaming),
        }
    }

    /// Whether `path` answers with a stream (`Watch*`), which may stay open indefinitely.
    pub fn is_server_streaming(&self, path: &str) -> bool {
        self.server_streaming.contains(path)
    }

    /// Whether `path` is a method of this server.
    pub fn is_known(&self, path: &str) -> bool {
        self.known.contains(path)
    }

    /// Whether `path` lies under a service of this server (`/package.Service/…`), known
    /// method or not: such a path is always answered by gRPC, never by another route.
    pub fn is_service_path(&self, path: &str) -> bool {
        path.match_indices('/')
            .nth(1)
            .is_some_and(|(end, _)| self.services.contains(&path[..=end]))
    }

    /// Whether `path` is a method whose request is a client stream.
    pub fn is_client_streaming(&self, path: &str) -> bool {
        self.client_streaming.contains(path)
    }
}

#[cfg(test)]
mod tests {
    use super::MethodTable;

    #[test]
    fn client_streams_are_told_apart_from_unary_calls() {
        let table = MethodTable::from_descriptor_sets(&[campus_proto::FILE_DESCRIPTOR_SET]);
        let import = "/campus.finance.v1.FinanceService/ImportTransactions";
        let create = "/campus.finance.v1.FinanceService/CreateTransaction";
        assert!(table.is_known(import) && table.is_known(create));
        assert!(table.is_client_streaming(import));
        assert!(!table.is_client_streaming(create));
        assert!(!table.is_known("/campus.finance.v1.FinanceService/Nothing"));
    }

    #[test]
    fn service_paths_cover_unknown_methods_of_known_services_only() {
        let table = MethodTable::from_descriptor_sets(&[campus_proto::FILE_DESCRIPTOR_SET]);
        assert!(table.is_service_path("/campus.finance.v1.FinanceService/Nothing"));
        assert!(table.is_service_path("/campus.users.v1.UsersService/Login"));
        assert!(!table.is_service_path("/campus.users.v1.UsersService"));
        assert!(!table.is_service_path("/courses/abc"));
        assert!(!table.is_service_path("/"));
    }
}
