//! Cluster tests: real coordinator processes on loopback, attacked with kills,
//! pauses, restarts and membership changes, checked through the public API.

mod anti_entropy;
mod bad_input;
mod crash;
mod election;
mod fleet;
mod fleet_layer;
mod grpc_docs;
mod membership;
mod migration_faults;
mod migrations;
mod minority;
mod node_rules;
mod repair;
mod roles;
mod router_admin;
mod router_document_params;
mod router_fences;
mod router_indexes;
mod router_keys;
mod router_lists;
mod router_routes;
mod router_search;
mod router_service;
mod router_swaps;
mod router_tenant_tokens;
mod router_transcript;
mod router_watch;
mod router_webhooks;
mod router_writes;
mod tls;
mod tombstones;
mod util;
mod versions;
mod workflows;
