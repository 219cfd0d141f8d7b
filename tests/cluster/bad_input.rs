use miroir::pb::v1::*;
use tonic::Code;

use crate::util::*;

async fn setup(c: &Cluster) -> u64 {
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    for i in 0..2 {
        let req = AddNodeRequest {
            id: format!("meili-{i}"),
            address: format!("http://10.0.0.{i}:7700"),
            group: 0,
        };
        a.add_node(c.req(req)).await.unwrap();
    }
    let req = CreateIndexRequest {
        uid: "movies".into(),
        primary_key: Some("id".into()),
        shards: 4,
        replication_factor: 1,
    };
    a.create_index(c.req(req)).await.unwrap();
    leader
}

fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => {
            assert!(!s.message().is_empty(), "an error without a message");
            s.code()
        }
    }
}

/// Every kind of bad request gets its own gRPC status with a message, and the
/// replicated state is exactly as it was.
#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_refused_and_change_nothing() {
    let c = Cluster::start(3);
    let leader = setup(&c).await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let before = observable_state(&c, leader).await;
    let mut a = c.admin(follower).await;
    let mut r = c.router(follower).await;
    let node = |id: &str, addr: &str| AddNodeRequest {
        id: id.into(),
        address: addr.into(),
        group: 0,
    };
    let index = |uid: &str, shards: u32, rf: u32| CreateIndexRequest {
        uid: uid.into(),
        primary_key: None,
        shards,
        replication_factor: rf,
    };
    let nref = |id: &str| NodeRef { id: id.into() };
    let set = |k: &str, v: &str, e: Option<u64>| SetConfigRequest {
        key: k.into(),
        value: v.into(),
        expect_version: e,
    };

    let cases: Vec<(&str, Code, Code)> = vec![
        (
            "duplicate node id",
            code(
                a.add_node(c.req(node("meili-0", "http://10.9.9.9:7700")))
                    .await,
            ),
            Code::AlreadyExists,
        ),
        (
            "duplicate node address",
            code(
                a.add_node(c.req(node("meili-9", "http://10.0.0.0:7700")))
                    .await,
            ),
            Code::AlreadyExists,
        ),
        (
            "invalid node id",
            code(a.add_node(c.req(node("a b", "http://x:1"))).await),
            Code::InvalidArgument,
        ),
        (
            "address without scheme",
            code(a.add_node(c.req(node("meili-9", "10.0.0.9:7700"))).await),
            Code::InvalidArgument,
        ),
        (
            "drain unknown node",
            code(a.drain_node(c.req(nref("nope"))).await),
            Code::NotFound,
        ),
        (
            "activate an active node",
            code(a.activate_node(c.req(nref("meili-0"))).await),
            Code::FailedPrecondition,
        ),
        (
            "remove an active node",
            code(a.remove_node(c.req(nref("meili-0"))).await),
            Code::FailedPrecondition,
        ),
        (
            "huge shard count",
            code(a.create_index(c.req(index("big", 100_000, 1))).await),
            Code::InvalidArgument,
        ),
        (
            "invalid index uid",
            code(a.create_index(c.req(index("bad uid", 4, 1))).await),
            Code::InvalidArgument,
        ),
        (
            "empty index uid",
            code(a.create_index(c.req(index("", 4, 1))).await),
            Code::InvalidArgument,
        ),
        (
            "duplicate index",
            code(a.create_index(c.req(index("movies", 4, 1))).await),
            Code::AlreadyExists,
        ),
        (
            "rf above group size",
            code(a.create_index(c.req(index("m2", 4, 3))).await),
            Code::FailedPrecondition,
        ),
        (
            "second primary key",
            code(
                a.set_primary_key(c.req(SetPrimaryKeyRequest {
                    uid: "movies".into(),
                    primary_key: "other".into(),
                }))
                .await,
            ),
            Code::FailedPrecondition,
        ),
        (
            "reserved primary key",
            code(
                a.set_primary_key(c.req(SetPrimaryKeyRequest {
                    uid: "movies".into(),
                    primary_key: "_miroir_shard".into(),
                }))
                .await,
            ),
            Code::InvalidArgument,
        ),
        (
            "primary key of unknown index",
            code(
                a.set_primary_key(c.req(SetPrimaryKeyRequest {
                    uid: "nope".into(),
                    primary_key: "id".into(),
                }))
                .await,
            ),
            Code::NotFound,
        ),
        (
            "delete unknown index",
            code(a.delete_index(c.req(IndexRef { uid: "nope".into() })).await),
            Code::NotFound,
        ),
        (
            "shard map of unknown index",
            code(
                a.get_shard_map(c.req(IndexRef { uid: "nope".into() }))
                    .await,
            ),
            Code::NotFound,
        ),
        (
            "unknown setting",
            code(a.set_config(c.req(set("nope", "1", None))).await),
            Code::NotFound,
        ),
        (
            "invalid setting value",
            code(a.set_config(c.req(set("lease_ms", "soon", None))).await),
            Code::InvalidArgument,
        ),
        (
            "stale expected version",
            code(
                a.set_config(c.req(set("lease_ms", "3000", Some(12345))))
                    .await,
            ),
            Code::FailedPrecondition,
        ),
        (
            "get unknown setting",
            code(
                a.get_config(c.req(GetConfigRequest { key: "nope".into() }))
                    .await,
            ),
            Code::NotFound,
        ),
        (
            "member id 0",
            code(
                a.add_member(c.req(AddMemberRequest {
                    id: 0,
                    address: "x:1".into(),
                    learner_only: true,
                }))
                .await,
            ),
            Code::InvalidArgument,
        ),
        (
            "remove unknown member",
            code(a.remove_member(c.req(RemoveMemberRequest { id: 42 })).await),
            Code::NotFound,
        ),
        (
            "transfer to non-member",
            code(
                a.transfer_leader(c.req(TransferLeaderRequest { to: 42 }))
                    .await,
            ),
            Code::FailedPrecondition,
        ),
        (
            "empty task-id block",
            code(
                r.allocate_task_ids(c.req(AllocateTaskIdsRequest {
                    router_id: "r".into(),
                    count: 0,
                }))
                .await,
            ),
            Code::InvalidArgument,
        ),
        (
            "unallocated task uid",
            code(
                r.commit_tasks(c.req(CommitTasksRequest {
                    tasks: vec![task(10_000, "enqueued")],
                }))
                .await,
            ),
            Code::FailedPrecondition,
        ),
        (
            "unknown task status",
            code(
                r.commit_tasks(c.req(CommitTasksRequest {
                    tasks: vec![task(0, "done")],
                }))
                .await,
            ),
            Code::InvalidArgument,
        ),
        (
            "unknown task",
            code(r.get_task(c.req(GetTaskRequest { uid: 999 })).await),
            Code::NotFound,
        ),
    ];
    for (what, got, want) in cases {
        assert_eq!(got, want, "{what}");
    }
    assert_eq!(
        observable_state(&c, leader).await,
        before,
        "a refused request changed the state"
    );
}

fn task(uid: u64, status: &str) -> TaskRecord {
    TaskRecord {
        uid,
        index_uid: "movies".into(),
        kind: "documentAdditionOrUpdate".into(),
        status: status.into(),
        ..Default::default()
    }
}

/// Bytes that are not a protobuf message are refused by the server.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_message_is_refused() {
    let c = Cluster::start(3);
    let leader = setup(&c).await;
    let before = observable_state(&c, leader).await;
    let status = send_raw(
        &c.addr(leader),
        "/miroir.v1.Admin/AddNode",
        vec![0xff, 0xff, 0xff, 0x01, 0x02],
    )
    .await;
    assert_eq!(status.code(), Code::Internal, "{status:?}");
    assert!(status.message().contains("decode"), "{status:?}");
    assert_eq!(observable_state(&c, leader).await, before);
}

/// miroir-ctl reports refusals with exit code 1 and a message, usage errors
/// with 2, an unreachable coordinator with 3, and JSON errors with --json.
#[tokio::test(flavor = "multi_thread")]
async fn ctl_errors_and_exit_codes() {
    let c = Cluster::start(3);
    let leader = setup(&c).await;
    let before = observable_state(&c, leader).await;
    let refused: &[&[&str]] = &[
        &["nodes", "drain", "nope"],
        &[
            "nodes",
            "add",
            "--id",
            "meili-0",
            "--address",
            "http://10.1.1.1:7700",
        ],
        &["nodes", "add", "--id", "x", "--address", "not-a-url"],
        &["nodes", "remove", "meili-0"],
        &["indexes", "create", "bad uid"],
        &["indexes", "create", "m", "--shards", "0"],
        &["indexes", "create", "m", "--shards", "5000"],
        &["indexes", "set-primary-key", "movies", "other"],
        &["indexes", "describe", "nope"],
        &["config", "set", "lease_ms", "abc"],
        &[
            "config",
            "set",
            "lease_ms",
            "2000",
            "--expect-version",
            "777",
        ],
        &["cluster", "remove-member", "--id", "9"],
    ];
    for args in refused {
        let out = c.ctl(leader, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.starts_with("error"), "{args:?}: {err}");
    }
    let out = c.ctl(leader, &["--json", "nodes", "drain", "nope"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stderr).expect("JSON error");
    assert_eq!(v["error"]["code"], "NotFound");
    assert_eq!(
        c.ctl(leader, &["nodes", "add", "--id", "x"]).status.code(),
        Some(2)
    );
    let out = std::process::Command::new(CTL)
        .args([
            "--coordinator",
            &format!("127.0.0.1:{}", free_port()),
            "--timeout",
            "2",
            "cluster",
            "status",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(observable_state(&c, leader).await, before);

    let out = c.ctl(leader, &["--json", "nodes", "list"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["nodes"].as_array().unwrap().len(), 2);
}

/// With an admin key configured, calls without it are refused (UNAUTHENTICATED)
/// and calls with it work, through miroir-ctl too.
#[tokio::test(flavor = "multi_thread")]
async fn admin_key_is_enforced() {
    let mut c = Cluster::start_with(3, &[], Some("s3cret-key"));
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    let err = a
        .list_nodes(tonic::Request::new(ListNodesRequest {}))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut wrong = tonic::Request::new(ListNodesRequest {});
    wrong
        .metadata_mut()
        .insert("authorization", "Bearer nope".parse().unwrap());
    assert_eq!(
        a.list_nodes(wrong).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert!(c.ctl(leader, &["nodes", "list"]).status.success());
    c.admin_key = None;
    let out = c.ctl(leader, &["nodes", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("admin key"));
    c.admin_key = Some("s3cret-key".into());
}

/// Sends `body` as a gRPC message without protobuf encoding.
async fn send_raw(addr: &str, path: &'static str, body: Vec<u8>) -> tonic::Status {
    let ch = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(ch);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(path);
    grpc.unary::<Vec<u8>, Vec<u8>, _>(tonic::Request::new(body), path, RawCodec)
        .await
        .unwrap_err()
}

#[derive(Default, Clone)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes::Buf;
        let v = src.chunk().to_vec();
        src.advance(v.len());
        Ok(Some(v))
    }
}
